"""A small URDF writer for robots made of primitive shapes (boxes, cylinders, spheres).

Used to generate this package's own robot hand (``rejshand_hand``) and, in tests,
stand-in URDFs that carry the joint and link names of commercial hands. Inertials are
computed from the collision shapes (uniform density), so every link has a physically
consistent mass, centre of mass and inertia tensor.

Conventions are URDF's: lengths in metres, angles in radians, ``rpy`` is roll-pitch-yaw
about fixed axes (R = Rz(yaw) Ry(pitch) Rx(roll)), a cylinder's axis is its local z.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

import numpy as np

#: Mirror across the x-z plane (y -> -y): turns a right-hand description into a left one.
MIRROR_Y = np.diag([1.0, -1.0, 1.0])


def rpy_to_matrix(rpy) -> np.ndarray:
    """(3,) roll, pitch, yaw (rad) -> (3, 3) rotation Rz(yaw) @ Ry(pitch) @ Rx(roll)."""
    r, p, y = (float(v) for v in rpy)
    cr, sr, cp, sp, cy, sy = np.cos(r), np.sin(r), np.cos(p), np.sin(p), np.cos(y), np.sin(y)
    rx = np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
    ry = np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
    rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
    return rz @ ry @ rx


def matrix_to_rpy(rot: np.ndarray) -> np.ndarray:
    """(3, 3) rotation -> (3,) roll, pitch, yaw (rad), inverse of :func:`rpy_to_matrix`."""
    rot = np.asarray(rot, dtype=float)
    pitch = np.arcsin(-np.clip(rot[2, 0], -1.0, 1.0))
    if abs(rot[2, 0]) < 1.0 - 1e-9:
        roll = np.arctan2(rot[2, 1], rot[2, 2])
        yaw = np.arctan2(rot[1, 0], rot[0, 0])
    else:  # gimbal lock: put everything into yaw
        roll = 0.0
        yaw = np.arctan2(-rot[0, 1], rot[1, 1])
    return np.array([roll, pitch, yaw])


@dataclass
class Shape:
    """A primitive in a link's frame.

    kind: "box" (size = x, y, z edge lengths), "cylinder" (size = radius, length; axis
    along the shape's local z) or "sphere" (size = radius,). ``xyz``/``rpy`` place the
    shape's centre and orientation in the link frame.
    """

    kind: str
    size: tuple
    xyz: tuple = (0.0, 0.0, 0.0)
    rpy: tuple = (0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        expected = {"box": 3, "cylinder": 2, "sphere": 1}
        if self.kind not in expected or len(self.size) != expected[self.kind]:
            raise ValueError(f"bad shape {self.kind!r} with size {self.size}")
        if min(self.size) <= 0:
            raise ValueError(f"shape sizes must be positive, got {self.size}")

    @property
    def volume(self) -> float:
        if self.kind == "box":
            return float(np.prod(self.size))
        if self.kind == "cylinder":
            radius, length = self.size
            return float(np.pi * radius**2 * length)
        return float(4.0 / 3.0 * np.pi * self.size[0] ** 3)

    def unit_inertia(self) -> np.ndarray:
        """(3, 3) inertia per unit mass about the shape's centre, in its own axes."""
        if self.kind == "box":
            x, y, z = self.size
            return np.diag([y * y + z * z, x * x + z * z, x * x + y * y]) / 12.0
        if self.kind == "cylinder":
            r, h = self.size
            side = (3 * r * r + h * h) / 12.0
            return np.diag([side, side, r * r / 2.0])
        return np.eye(3) * 0.4 * self.size[0] ** 2

    def mirrored(self) -> "Shape":
        rot = MIRROR_Y @ rpy_to_matrix(self.rpy) @ MIRROR_Y
        return Shape(self.kind, self.size, tuple(MIRROR_Y @ np.asarray(self.xyz, float)),
                     tuple(matrix_to_rpy(rot)))


@dataclass
class Link:
    """A link with visual = collision shapes and a uniform density (kg/m^3)."""

    name: str
    shapes: list[Shape] = field(default_factory=list)
    density: float = 1000.0
    color: str = "grey"

    def inertial(self) -> tuple[float, np.ndarray, np.ndarray]:
        """(mass kg, centre of mass (3,) m, inertia (3, 3) kg m^2 about the COM, link axes).

        A link without shapes gets a tiny point mass (pinocchio and simulators want
        positive masses on moving links).
        """
        if not self.shapes:
            return 1e-3, np.zeros(3), np.eye(3) * 1e-8
        masses = np.array([self.density * s.volume for s in self.shapes])
        centres = np.array([s.xyz for s in self.shapes], dtype=float)
        mass = float(masses.sum())
        com = (masses[:, None] * centres).sum(0) / mass
        inertia = np.zeros((3, 3))
        for m, shape, centre in zip(masses, self.shapes, centres):
            rot = rpy_to_matrix(shape.rpy)
            offset = centre - com
            inertia += m * (rot @ shape.unit_inertia() @ rot.T)
            inertia += m * (offset @ offset * np.eye(3) - np.outer(offset, offset))
        return mass, com, inertia

    def mirrored(self) -> "Link":
        return Link(self.name, [s.mirrored() for s in self.shapes], self.density, self.color)


@dataclass
class Joint:
    """A URDF joint. ``kind``: "revolute" or "fixed"; limits in rad, effort N m, velocity rad/s.

    ``mimic``: (source joint, multiplier, offset) for a joint driven by another one.
    """

    name: str
    kind: str
    parent: str
    child: str
    xyz: tuple = (0.0, 0.0, 0.0)
    rpy: tuple = (0.0, 0.0, 0.0)
    axis: tuple = (0.0, 0.0, 1.0)
    lower: float = 0.0
    upper: float = 0.0
    effort: float = 1.0
    velocity: float = 6.0
    mimic: tuple[str, float, float] | None = None

    def mirrored(self) -> "Joint":
        """The same joint on the mirror-image robot (y -> -y), same angle semantics.

        Positions map to M p, fixed rotations to M R M, and a revolute axis a to -M a,
        so that the same joint angle produces the mirror image of the same pose.
        """
        rot = MIRROR_Y @ rpy_to_matrix(self.rpy) @ MIRROR_Y
        return Joint(self.name, self.kind, self.parent, self.child,
                     tuple(MIRROR_Y @ np.asarray(self.xyz, float)), tuple(matrix_to_rpy(rot)),
                     tuple(-MIRROR_Y @ np.asarray(self.axis, float)), self.lower, self.upper,
                     self.effort, self.velocity, self.mimic)


def _num(value: float) -> str:
    value = float(value)
    return f"{0.0 if abs(value) < 1e-15 else value:.9g}"


def _vec(values) -> str:
    return " ".join(_num(v) for v in values)


def _geometry(shape: Shape) -> str:
    if shape.kind == "box":
        return f'<box size="{_vec(shape.size)}"/>'
    if shape.kind == "cylinder":
        return f'<cylinder radius="{shape.size[0]:.9g}" length="{shape.size[1]:.9g}"/>'
    return f'<sphere radius="{shape.size[0]:.9g}"/>'


def urdf_xml(robot_name: str, links: list[Link], joints: list[Joint],
             colors: dict[str, tuple[float, float, float, float]] | None = None,
             header: str = "") -> str:
    """The URDF document (a string) of a robot built from ``links`` and ``joints``.

    ``colors`` maps a material name (Link.color) to RGBA in [0, 1]. ``header`` is put
    into an XML comment at the top (licence, provenance). Joints are written in the
    given order, which should be depth-first so that pinocchio's joint order (what
    dex-retargeting reports as ``joint_names``) equals the file's order.
    """
    colors = colors or {"grey": (0.6, 0.6, 0.6, 1.0)}
    lines = ['<?xml version="1.0"?>']
    if header:
        lines.append("<!--")
        lines.extend(f"  {line}".rstrip() for line in header.strip().splitlines())
        lines.append("-->")
    lines.append(f"<robot name={quoteattr(robot_name)}>")
    for name, rgba in colors.items():
        lines.append(f'  <material name={quoteattr(name)}><color rgba="{_vec(rgba)}"/></material>')
    for link in links:
        lines.append(f"  <link name={quoteattr(link.name)}>")
        mass, com, inertia = link.inertial()
        lines.append("    <inertial>")
        lines.append(f'      <origin xyz="{_vec(com)}" rpy="0 0 0"/>')
        lines.append(f'      <mass value="{_num(mass)}"/>')
        i = inertia
        lines.append(f'      <inertia ixx="{_num(i[0, 0])}" ixy="{_num(i[0, 1])}" '
                     f'ixz="{_num(i[0, 2])}" iyy="{_num(i[1, 1])}" iyz="{_num(i[1, 2])}" '
                     f'izz="{_num(i[2, 2])}"/>')
        lines.append("    </inertial>")
        for tag in ("visual", "collision"):
            for shape in link.shapes:
                lines.append(f"    <{tag}>")
                lines.append(f'      <origin xyz="{_vec(shape.xyz)}" rpy="{_vec(shape.rpy)}"/>')
                lines.append(f"      <geometry>{_geometry(shape)}</geometry>")
                if tag == "visual":
                    lines.append(f"      <material name={quoteattr(link.color)}/>")
                lines.append(f"    </{tag}>")
        lines.append("  </link>")
    for joint in joints:
        lines.append(f"  <joint name={quoteattr(joint.name)} type={quoteattr(joint.kind)}>")
        lines.append(f"    <parent link={quoteattr(joint.parent)}/>")
        lines.append(f"    <child link={quoteattr(joint.child)}/>")
        lines.append(f'    <origin xyz="{_vec(joint.xyz)}" rpy="{_vec(joint.rpy)}"/>')
        if joint.kind != "fixed":
            lines.append(f'    <axis xyz="{_vec(joint.axis)}"/>')
            lines.append(f'    <limit lower="{joint.lower:.9g}" upper="{joint.upper:.9g}" '
                         f'effort="{joint.effort:.9g}" velocity="{joint.velocity:.9g}"/>')
            if joint.mimic is not None:
                source, multiplier, offset = joint.mimic
                lines.append(f"    <mimic joint={quoteattr(source)} multiplier="
                             f'"{multiplier:.9g}" offset="{offset:.9g}"/>')
        lines.append("  </joint>")
    lines.append("</robot>")
    return "\n".join(lines) + "\n"
