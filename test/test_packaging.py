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


def _launcher(tmp_path: Path, python: str, name: str = "probe") -> Path:
    """The launcher cmake/entry_points.cmake writes for "<name>=probe", built for
    ``python``; PROBE_PATH holds a stand-in rejshand_ros whose probe.main() prints the
    interpreter and arguments."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    script = tmp_path / "write.cmake"
    script.write_text(f'include("{REPO / "cmake" / "entry_points.cmake"}")\n'
                      'rejshand_write_launcher("${ENTRY}" "${OUT}")\n')
    out = tmp_path / name
    subprocess.run(["cmake", f"-DPython3_EXECUTABLE={python}", f"-DENTRY={name}=probe",
                    f"-DOUT={out}", "-P", str(script)], check=True, timeout=60)
    out.chmod(0o755)
    package = tmp_path / "probe_path" / "rejshand_ros"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "probe.py").write_text(
        "import sys\n\ndef main():\n    if '--missing' in sys.argv:\n"
        "        import surely_not_installed_dep  # noqa: F401\n"
        "    print(sys.executable, *sys.argv)\n    return 3\n")
    return out


def _run(launcher: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(launcher.parent / "probe_path")}
    return subprocess.run([str(launcher), *args], capture_output=True, text=True, timeout=60,
                          env={**base, **env})


def test_launcher_picks_its_python_at_run_time(tmp_path):
    """Built with a system Python (colcon on apt ROS): the active venv's Python when one
    is active, REJSHAND_RUNTIME_PYTHON above all; built with a venv's Python: that one."""
    system, venv = "/usr/bin/python3.11", str(Path(sys.prefix) / "bin" / "python")
    if not Path(system).is_file():
        pytest.skip(f"no {system} here")
    launcher = _launcher(tmp_path / "system", system)
    result = _run(launcher, "a", "b")
    assert result.returncode == 3 and result.stdout.split() == [system, str(launcher), "a", "b"]
    active = _run(launcher, "x", VIRTUAL_ENV=sys.prefix)
    assert active.returncode == 3 and active.stdout.split()[0] == venv, active.stderr
    chosen = _run(launcher, REJSHAND_RUNTIME_PYTHON=system, VIRTUAL_ENV=sys.prefix)
    assert chosen.stdout.split()[0] == system
    in_venv = _launcher(tmp_path / "venv", venv)
    other = tmp_path / "other_venv"
    (other / "bin").mkdir(parents=True)
    (other / "bin" / "python").symlink_to(system)
    result = _run(in_venv, VIRTUAL_ENV=str(other))
    assert result.returncode == 3 and result.stdout.split()[0] == venv, result.stderr


def test_launcher_without_the_dependencies_names_the_fix(tmp_path):
    launcher = _launcher(tmp_path, str(Path(sys.prefix) / "bin" / "python"))
    result = _run(launcher, "--missing")
    assert result.returncode == 2
    assert "probe: error:" in result.stderr and "surely_not_installed_dep" in result.stderr
    assert "REJSHAND_RUNTIME_PYTHON" in result.stderr and "Traceback" not in result.stderr
    result = _run(launcher, PYTHONPATH="/nonexistent")  # the package is not importable
    assert result.returncode == 2 and "install/setup.bash" in result.stderr
    result = _run(launcher, REJSHAND_RUNTIME_PYTHON="/no/such/python")
    assert result.returncode == 2 and "/no/such/python" in result.stderr


def test_installed_node_executable_starts_with_its_venv_python(tmp_path):
    """The installed hand_pose_node, run from outside any venv, answers --help."""
    exe = Path(sys.prefix) / "lib" / "rejshand_ros" / "hand_pose_node"
    assert exe.read_text().startswith("#!/bin/sh")
    result = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 0 and "usage: hand_pose_node" in result.stdout, result.stderr


def test_launcher_is_also_a_python_script(tmp_path):
    """torchrun (docs/training.md: `torchrun ... $(which rejshand-train)`) runs the file with
    its own Python: the shell part must then be an inert string."""
    launcher = _launcher(tmp_path, "/nonexistent/python")
    result = subprocess.run([sys.executable, str(launcher), "x"], capture_output=True,
                            text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "PYTHONPATH":
                                                        str(tmp_path / "probe_path")})
    assert result.returncode == 3, result.stderr
    assert result.stdout.split() == [sys.executable, str(launcher), "x"]


def test_launcher_ignores_a_source_checkout_in_the_working_directory(tmp_path):
    """Run from a directory holding a rejshand_ros/ folder (the repo root, where the
    tests run), the installed package is imported, not that folder."""
    launcher = _launcher(tmp_path, str(Path(sys.prefix) / "bin" / "python"))
    shadow = tmp_path / "cwd" / "rejshand_ros"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise SystemExit('the working directory won')\n")
    result = subprocess.run([str(launcher)], capture_output=True, text=True, timeout=60,
                            cwd=shadow.parent, env={"PATH": "/usr/bin:/bin",
                                                    "PYTHONPATH": str(tmp_path / "probe_path")})
    assert result.returncode == 3, result.stderr


def test_setup_peers_takes_the_first_working_python_of_312_311_310(tmp_path):
    """A broken python3.12 (an inactive pyenv shim) is skipped; a working one is taken
    first; REJSHAND_PYTHON overrides; another version is refused."""
    real = Path(sys.base_prefix) / "bin" / "python3.11"
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "python3.12").write_text("#!/bin/sh\necho 'pyenv: python3.12: command not found' >&2\n"
                                     "exit 127\n")
    (fake / "python3.12").chmod(0o755)
    (fake / "python3.11").symlink_to(real)

    def which(**env):
        return subprocess.run(["bash", str(REPO / "scripts" / "setup_peers.sh"), "--which"],
                              capture_output=True, text=True, timeout=60,
                              env={"PATH": f"{fake}:/usr/bin:/bin", **env})

    assert which().stdout.strip() == "python3.11"
    (fake / "python3.12").unlink()
    (fake / "python3.12").symlink_to(real)  # stands in for a working 3.12
    assert which().stdout.strip() == "python3.12"
    assert which(REJSHAND_PYTHON=str(real)).stdout.strip() == str(real)
    refused = which(REJSHAND_PYTHON="/bin/true")
    assert refused.returncode == 1 and "3.10, 3.11 or 3.12" in refused.stderr


def _import_statements() -> dict[str, list[tuple[str, list[str]]]]:
    """module -> (base, names) of every import statement in it (ast, all levels):
    ``import a.b`` gives ("a.b", []), ``from x import y, z`` ("x", ["y", "z"]), relative
    bases resolved."""
    import ast

    root = REPO / "rejshand_ros"
    statements = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        package = parts[:-1]
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found = []
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found += [(alias.name, []) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package[:len(package) - node.level + 1]
                    base = ".".join(up + ([node.module] if node.module else []))
                found.append((base, [alias.name for alias in node.names]))
        statements[name] = found
    return statements


def _imports_of_every_module() -> dict[str, set[str]]:
    """module -> every module named by any import statement in it (ast, all levels)."""
    return {module: {name for base, names in found
                     for name in (base, *(f"{base}.{n}" for n in names))}
            for module, found in _import_statements().items()}


def _module_graph() -> dict[str, set[str]]:
    """module -> the package's modules its import statements load, at any level:
    ``from pkg import sub`` -> pkg.sub when that is a module, else pkg;
    ``import a.b.c`` -> the longest of a.b.c, a.b that is a module."""
    statements = _import_statements()
    modules = set(statements)
    graph = {}
    for module, found in statements.items():
        targets = set()
        for base, names in found:
            for name in names:
                if f"{base}.{name}" in modules:
                    targets.add(f"{base}.{name}")
                elif base in modules:
                    targets.add(base)
            if not names:
                parts = base.split(".")
                while parts and ".".join(parts) not in modules:
                    parts.pop()
                if parts:
                    targets.add(".".join(parts))
        graph[module] = targets - {module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One shortest cycle through each strongly connected component of ``graph`` that has
    more than one module (Tarjan's algorithm, then a breadth-first search)."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def connect(start: str) -> None:  # iterative Tarjan
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(set(component))

    for module in sorted(graph):
        if module not in index:
            connect(module)
    cycles = []
    for component in components:
        start = min(component)
        paths, seen = [[start]], {start}
        while paths:
            path = paths.pop(0)
            nexts = sorted(graph[path[-1]] & component)
            if start in nexts:
                cycles.append(path + [start])
                break
            for child in nexts:
                if child not in seen:
                    seen.add(child)
                    paths.append(path + [child])
    return sorted(cycles)


def test_only_the_ros_shell_imports_ros():
    """Outside rejshand_ros.ros, only bench/ and cli/bench_retarget.py import rclpy or
    rejshand_ros.ros, at any level of the module; ros/ never imports the CLIs."""
    graph = _imports_of_every_module()
    assert "rejshand_ros.ros.demo_monitor" in graph and "rejshand_ros.cli.predict" in graph
    offending = []
    for module, names in sorted(graph.items()):
        in_shell = module.startswith("rejshand_ros.ros")
        allowed = in_shell or module.startswith("rejshand_ros.bench") \
            or module == "rejshand_ros.cli.bench_retarget"
        for name in sorted(names):
            if not allowed and (name.split(".")[0] == "rclpy"
                                or name.startswith("rejshand_ros.ros")):
                offending.append(f"{module} imports {name}")
            if in_shell and name.startswith("rejshand_ros.cli"):
                offending.append(f"{module} imports {name}")
    assert not offending, "\n".join(offending)


def test_no_import_circles():
    """No module of the package imports, at any level (function-level imports too), a
    module that imports it back, directly or through others."""
    graph = _module_graph()
    assert "rejshand_ros.train.trainer" in graph["rejshand_ros.cli.train"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    cycles = _cycles(graph)
    assert not cycles, "import circles:\n" + "\n".join(" -> ".join(c) for c in cycles)
