"""Fixed-step overfit: the paper loss falls > 10x on 4 random images.

Proves that gradients flow end to end (backbone, 2D head, grid_sample in the expansion
block, coordinate attention, skeleton-guided attention, token upsampling, mesh tokens).
The head is shrunk (channels 64/32/16, tokens 21/42/84) to keep the test ~20 s on one
CPU core; every code path of the paper-sized head is still exercised. It runs on one
thread: on a shared, oversubscribed machine OpenMP's spinning threads made the same
loop 10x slower.
"""

from __future__ import annotations

import pytest
import torch

from rejshand_ros.model import ModelConfig, ReJSHand

STEPS = 120


def paper_loss(out: dict[str, torch.Tensor], uv: torch.Tensor, joints: torch.Tensor,
               vertices: torch.Tensor) -> torch.Tensor:
    """L = 1 L1(2D) + 10 L1(3D) + 10 L1(V) (paper Eq. 7, k2D=1, k3D=10, kV=10)."""
    return ((out["uv"] - uv).abs().mean() + 10.0 * (out["joints"] - joints).abs().mean()
            + 10.0 * (out["vertices"] - vertices).abs().mean())


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_paper_loss_drops_more_than_10x(one_thread):
    torch.manual_seed(0)
    cfg = ModelConfig(backbone="fastvit_t8", input_size=64, token_counts=(21, 42, 84),
                      channels=(64, 32, 16), expansion_channels=32)
    model = ReJSHand(cfg).train()
    images = torch.randn(4, 3, 64, 64)
    uv = torch.rand(4, 21, 2) * 0.6 + 0.2
    vertices = torch.randn(4, 778, 3) * 0.03  # metres
    joints = torch.einsum("jv,bvc->bjc", model.joint_regressor, vertices)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    with torch.no_grad():
        initial = paper_loss(model(images), uv, joints, vertices).item()
    for _ in range(STEPS):
        loss = paper_loss(model(images), uv, joints, vertices)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        final = paper_loss(model(images), uv, joints, vertices).item()
    assert final < initial / 10.0, f"loss {initial:.4f} -> {final:.4f}"
