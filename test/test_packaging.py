"""Packaging: the ROS-free core, pip install without ROS, and the CLI lists."""

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

BLOCK_ROS = textwrap.dedent("""
    import importlib.abc, sys
    class BlockRos(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            top = name.split('.')[0]
            if top in ('rclpy', 'rosidl_runtime_py', 'rclpy_message_converter') \\
                    or top.endswith('_msgs') or top.endswith('_srvs') \\
                    or name.startswith('rejshand_ros.msg') or name.startswith('rejshand_ros.ros'):
                raise ImportError(f'blocked ROS import: {name}')
            return None
    sys.meta_path.insert(0, BlockRos())
""")


# Scripts shipped in the package that run in another interpreter, never imported here.
OTHER_INTERPRETER = {
    "rejshand_ros.bench.peers.mediapipe_worker": "runs in .venv-peers (mediapipe, numpy 1)",
    "rejshand_ros.mediapipe_hands.worker": "runs in .venv-peers (mediapipe, numpy 1)",
}


def _core_modules() -> list[str]:
    import pkgutil

    import rejshand_ros

    names = []
    for info in pkgutil.walk_packages(rejshand_ros.__path__, "rejshand_ros."):
        if info.name.startswith(("rejshand_ros.ros", "rejshand_ros.msg")) \
                or info.name in OTHER_INTERPRETER:
            continue
        names.append(info.name)
    return sorted(set(names))


def test_core_imports_without_ros():
    """Every module outside rejshand_ros.ros imports with rclpy and all *_msgs blocked."""
    modules = _core_modules()
    assert "rejshand_ros.resources" in modules
    code = BLOCK_ROS + "import importlib\n" + "".join(
        f"importlib.import_module({name!r})\n" for name in modules)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300, cwd="/")
    assert result.returncode == 0, result.stderr[-3000:]


def _cmake_entries(variable: str) -> list[tuple[str, str]]:
    text = (REPO / "cmake" / "entry_points.cmake").read_text()
    block = re.search(rf"set\({variable}(.*?)\)", text, re.S).group(1)
    return re.findall(r'"([^"=]+)=([^"]+)"', block)


def test_every_executable_is_installed_into_the_venv(venv_bin):
    prefix = Path(sys.prefix)
    for name, _ in _cmake_entries("REJSHAND_CLIS"):
        assert (venv_bin / name).is_file(), name
    for name, _ in _cmake_entries("REJSHAND_NODES"):
        assert (prefix / "lib" / "rejshand_ros" / name).is_file(), name
    assert (prefix / "share" / "rejshand_ros" / "config" / "fastdds_profile.xml").is_file()


@pytest.mark.slow
def test_pip_install_without_ros_gives_working_console_scripts(tmp_path):
    """`pip install .` into a clean venv (no ROS): every console script answers --help."""
    venv = tmp_path / "venv"
    subprocess.run(["python3.11", "-m", "venv", str(venv)],
                   check=True, timeout=120, env={"PATH": "/usr/bin:/bin"})
    python = venv / "bin" / "python"
    # --no-deps: the point is the package itself (modules, data files, entry points);
    # the heavy dependencies are pinned and installed by scripts/setup_env.sh.
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", str(REPO)], check=True, timeout=300,
                   env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    probe = subprocess.run([str(python), "-c", "import rclpy"], capture_output=True)
    assert probe.returncode != 0, "the clean venv must not have ROS"
    clis = _cmake_entries("REJSHAND_CLIS")
    assert clis
    for name, _ in clis:
        result = subprocess.run([str(venv / "bin" / name), "--help"], capture_output=True,
                                text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})
        assert result.returncode == 0, f"{name} --help failed: {result.stderr[-2000:]}"
        assert "usage:" in result.stdout, name
    config = subprocess.run(
        [str(python), "-c", "from rejshand_ros.resources import config_path; "
         "print(config_path('fastdds_profile.xml'))"],
        capture_output=True, text=True, timeout=60, cwd="/")
    assert config.returncode == 0, config.stderr
    assert Path(config.stdout.strip()).is_relative_to(venv)
