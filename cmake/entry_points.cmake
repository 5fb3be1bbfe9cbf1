# Executables installed by CMake. Each entry is "<name>=<module>" where <module> under
# rejshand_ros has a main(argv=None) -> int. setup.py reads REJSHAND_CLIS from this file
# for its console_scripts, so both builds install the same commands.
set(REJSHAND_NODES
  "hand_pose_selftest=ros.selftest"
  "retarget_node=ros.retarget_node"
  "hand_pose_node=ros.hand_pose_node"
  "image_source_node=ros.image_source_node"
  "recorder_node=ros.recorder"
)
set(REJSHAND_CLIS
  "rejshand-selftest=ros.selftest"
  "rejshand-train=cli.train"
  "rejshand-eval=cli.eval"
  "rejshand-model=cli.model"
  "rejshand-bench-retarget=cli.bench_retarget"
  "rejshand-bench=cli.bench"
  "rejshand-synth=cli.synth"
  "rejshand-eval-detector=cli.eval_detector"
  "rejshand-bringup=ros.bringup"
  "rejshand-predict=cli.predict"
  "rejshand-label=cli.label"
  "rejshand-eval-real=cli.eval_real"
  "rejshand-record=ros.recorder"
  "rejshand-demo=ros.demo"
)

set(_REJSHAND_CMAKE_DIR "${CMAKE_CURRENT_LIST_DIR}")

# rejshand_write_launcher(ENTRY FILE): write the launcher of "<name>=<module>" to FILE
# (cmake/launcher.sh.in: a /bin/sh script that picks the Python at run time). Needs
# Python3_EXECUTABLE; usable in script mode (test/test_packaging.py).
function(rejshand_write_launcher entry file)
  string(REPLACE "=" ";" _parts "${entry}")
  list(GET _parts 0 REJSHAND_NAME)
  list(GET _parts 1 REJSHAND_MODULE)
  set(REJSHAND_BUILD_PYTHON "${Python3_EXECUTABLE}")
  get_filename_component(_bin "${Python3_EXECUTABLE}" DIRECTORY)
  if(EXISTS "${_bin}/../pyvenv.cfg")
    set(REJSHAND_BUILD_PYTHON_IN_VENV 1)
  else()
    set(REJSHAND_BUILD_PYTHON_IN_VENV 0)
  endif()
  file(READ "${_REJSHAND_CMAKE_DIR}/launcher.sh.in" _template)
  string(CONFIGURE "${_template}" _text @ONLY)
  file(WRITE "${file}" "${_text}")
endfunction()

# Write the launcher of ENTRY and install it into DESTINATION (a changed template
# re-runs the configure step, which rewrites the launchers).
function(rejshand_launcher entry destination)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
               "${_REJSHAND_CMAKE_DIR}/launcher.sh.in")
  string(REPLACE "=" ";" _parts "${entry}")
  list(GET _parts 0 _name)
  set(_file "${CMAKE_CURRENT_BINARY_DIR}/launchers/${destination}/${_name}")
  rejshand_write_launcher("${entry}" "${_file}")
  install(PROGRAMS "${_file}" DESTINATION ${destination})
endfunction()
