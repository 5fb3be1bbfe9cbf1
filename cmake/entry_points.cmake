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

# Write a launcher script whose shebang is the interpreter this package was built for.
function(rejshand_launcher entry destination)
  string(REPLACE "=" ";" _parts "${entry}")
  list(GET _parts 0 _name)
  list(GET _parts 1 _module)
  set(_file "${CMAKE_CURRENT_BINARY_DIR}/launchers/${destination}/${_name}")
  file(WRITE "${_file}"
    "#!${Python3_EXECUTABLE}\n"
    "import sys\n"
    "from rejshand_ros.${_module} import main\n"
    "sys.exit(main())\n")
  install(PROGRAMS "${_file}" DESTINATION ${destination})
endfunction()
