"""The package and its tests use only rclpy API that both tested distros have.

Jazzy ships rclpy 7.1 and Kilted rclpy 9.1; the suite's ROS-facing tests run on both
(`scripts/test_distro.sh jazzy` for the first). These checks read the sources, so they
also guard code paths no test executes: every ``from rclpy.x import y`` and every
``rclpy.x.y`` attribute chain must resolve in the rclpy this interpreter has, and nothing
may use ``with rclpy.init(...)`` (Jazzy's init returns None; use
``rejshand_ros.ros.runtime.ros_session``).
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([*(REPO_ROOT / "rejshand_ros").rglob("*.py"), *(REPO_ROOT / "test").glob("*.py"),
                  *(REPO_ROOT / "launch").glob("*.py"), *(REPO_ROOT / "scripts").glob("*.py")])


def _chain(node: ast.AST) -> list[str] | None:
    """``rclpy.a.b`` -> ["rclpy", "a", "b"]; None for anything else."""
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(names)]
    return None


def rclpy_references(path: Path) -> set[tuple[str, ...]]:
    """Dotted rclpy names used in ``path``: imports and attribute chains."""
    found: set[tuple[str, ...]] = set()
    tree = ast.parse(path.read_text(), str(path))
    inner = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and \
                node.module.split(".")[0] == "rclpy":
            found.update((*node.module.split("."), alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(tuple(alias.name.split(".")) for alias in node.names
                         if alias.name.split(".")[0] == "rclpy")
        elif isinstance(node, ast.Attribute) and id(node) not in inner:
            chain = _chain(node)
            if chain and chain[0] == "rclpy":
                found.add(tuple(chain))
    return found


def resolves(dotted: tuple[str, ...]) -> bool:
    """Whether the longest importable module prefix has the remaining attributes."""
    for split in range(len(dotted), 0, -1):
        try:
            obj = importlib.import_module(".".join(dotted[:split]))
        except ImportError:
            continue
        for name in dotted[split:]:
            if not hasattr(obj, name):
                try:  # a submodule not imported by its package
                    obj = importlib.import_module(f"{obj.__name__}.{name}")
                except (ImportError, AttributeError):
                    return False
            else:
                obj = getattr(obj, name)
        return True
    return False


def test_no_rclpy_init_as_a_context_manager():
    offenders = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    expr = item.context_expr
                    if isinstance(expr, ast.Call) and _chain(expr.func) in (["rclpy", "init"],
                                                                              ["init"]):
                        offenders.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}")
    assert not offenders, ("`with rclpy.init()` fails on Jazzy (init returns None); use "
                           f"rejshand_ros.ros.runtime.ros_session: {offenders}")


def test_the_reference_scanner_sees_imports_and_chains(tmp_path):
    source = tmp_path / "example.py"
    source.write_text("import rclpy\nfrom rclpy.qos import QoSProfile\n"
                      "rclpy.executors.SingleThreadedExecutor\nrclpy.not_there()\n")
    assert rclpy_references(source) == {
        ("rclpy",), ("rclpy", "qos", "QoSProfile"),
        ("rclpy", "executors", "SingleThreadedExecutor"), ("rclpy", "not_there")}


@pytest.mark.ros
def test_every_rclpy_name_used_exists_in_this_rclpy():
    pytest.importorskip("rclpy")
    from importlib.metadata import version

    missing = sorted({f"{'.'.join(name)} ({path.relative_to(REPO_ROOT)})"
                      for path in SOURCES for name in rclpy_references(path)
                      if not resolves(name)})
    assert not missing, f"not in rclpy {version('ros-rclpy')}: {missing}"
    assert not resolves(("rclpy", "surely_not_an_rclpy_name"))


def test_sources_run_on_python_3_10():
    """vermin (static analysis) finds the lowest Python each file needs; robot
    workstations run 3.10 (Humble) to 3.12 (Jazzy). ``long`` is excluded: vermin takes
    torch's ``Tensor.long()`` for Python 2's builtin."""
    pytest.importorskip("vermin")
    import subprocess
    import sys

    paths = ["rejshand_ros", "test", "launch", "scripts", "setup.py"]
    result = subprocess.run(
        [str(Path(sys.executable).parent / "vermin"), "--target=3.10-", "--violations", "--no-tips",
         "--eval-annotations", "--exclude", "long", *paths],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_the_version_check_catches_newer_syntax(tmp_path):
    pytest.importorskip("vermin")
    import subprocess
    import sys

    (tmp_path / "new.py").write_text("try:\n    pass\nexcept* ValueError:\n    pass\n")
    result = subprocess.run([str(Path(sys.executable).parent / "vermin"), "--target=3.10-", "--violations",
                             "--no-tips", str(tmp_path)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1 and "except*" in result.stdout


def _interpreters(version: str) -> list[str]:
    """Working ``python<version>`` executables here: on PATH or in pyenv's versions."""
    import glob
    import os
    import shutil
    import subprocess

    found = [shutil.which(f"python{version}")]
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found += sorted(glob.glob(f"{root}/versions/{version}.*/bin/python{version}"))
    working = []
    for path in filter(None, found):
        probe = subprocess.run([path, "-c", "import sys; print(sys.version_info[:2])"],
                               capture_output=True, text=True, timeout=30)
        if probe.returncode == 0 and probe.stdout.strip() == str(
                tuple(int(x) for x in version.split("."))):
            working.append(path)
    return working[:1]


@pytest.mark.parametrize("version", ["3.10", "3.12"])
def test_sources_compile_on_other_pythons_found_here(version):
    """Besides vermin's analysis: the real 3.10 / 3.12 parsers accept every file (the
    Jazzy workstations' Python is 3.12, Humble's 3.10). Skipped where none is installed."""
    import subprocess

    interpreters = _interpreters(version)
    if not interpreters:
        pytest.skip(f"no working python{version} here")
    code = ("import sys\nfor path in sys.argv[1:]:\n"
            "    compile(open(path, encoding='utf-8').read(), path, 'exec')\n")
    result = subprocess.run([interpreters[0], "-c", code, *map(str, SOURCES),
                             str(REPO_ROOT / "setup.py")], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
