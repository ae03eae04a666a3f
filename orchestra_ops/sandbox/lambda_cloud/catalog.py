"""The emulator's fixed catalogue: regions, instance types, images, default capacity.

Prices and specs are those Lambda published for these types; the CPU type's figures are
the emulator's own choice (Lambda lists few CPU-only types).
"""

from __future__ import annotations

from typing import Any

from orchestra_ops.domain.lambda_cloud import REGION_NAMES

REGION_DESCRIPTIONS: dict[str, str] = {
    "us-west-1": "California, USA",
    "us-west-2": "Arizona, USA",
    "us-west-3": "Utah, USA",
    "us-east-1": "Virginia, USA",
    "us-east-2": "Washington DC, USA",
    "us-east-3": "Washington DC, USA",
    "us-south-1": "Texas, USA",
    "us-south-2": "North Texas, USA",
    "us-south-3": "Central Texas, USA",
    "us-midwest-1": "Illinois, USA",
    "us-midwest-2": "Illinois, USA",
    "europe-central-1": "Germany",
    "asia-south-1": "India",
    "asia-northeast-1": "Osaka, Japan",
    "asia-northeast-2": "Tokyo, Japan",
    "australia-east-1": "Sydney, Australia",
    "me-west-1": "Israel",
}
assert set(REGION_DESCRIPTIONS) == set(REGION_NAMES)


def region_json(name: str) -> dict[str, str]:
    """A region as the API shows it: ``{"name", "description"}``."""
    return {"name": name, "description": REGION_DESCRIPTIONS[name]}


def _type(
    name: str, gpu: str, count: int, cents: int, vcpus: int, mem: int, disk: int
) -> dict[str, Any]:
    description = f"{count}x {gpu}" if count else gpu
    return {
        "name": name,
        "description": description,
        "gpu_description": gpu if count else "N/A",
        "price_cents_per_hour": cents,
        "specs": {"vcpus": vcpus, "memory_gib": mem, "storage_gib": disk, "gpus": count},
    }


INSTANCE_TYPES: dict[str, dict[str, Any]] = {
    t["name"]: t
    for t in (
        _type("cpu_4x_general", "4x vCPU (general purpose)", 0, 20, 4, 16, 100),
        _type("gpu_1x_a10", "A10 (24 GB PCIe)", 1, 75, 30, 200, 1400),
        _type("gpu_1x_a100_sxm4", "A100 (40 GB SXM4)", 1, 129, 30, 200, 512),
        _type("gpu_1x_gh200", "GH200 (96 GB)", 1, 149, 64, 432, 4096),
        _type("gpu_1x_h100_pcie", "H100 (80 GB PCIe)", 1, 249, 26, 200, 1024),
        _type("gpu_8x_h100_sxm5", "H100 (80 GB SXM5)", 8, 2392, 208, 1800, 22528),
    )
}

DEFAULT_CAPACITY: dict[str, list[str]] = {
    "cpu_4x_general": ["us-west-1", "us-east-1", "europe-central-1"],
    "gpu_1x_a10": ["us-west-1", "us-east-1"],
    "gpu_1x_a100_sxm4": ["us-west-2"],
    "gpu_1x_gh200": ["us-east-3"],
    "gpu_1x_h100_pcie": ["us-south-1"],
    # The big machines are usually sold out.
    "gpu_8x_h100_sxm5": [],
}

_IMAGE_FAMILIES = (
    ("lambda-stack-22-04", "Lambda Stack 22.04", "22.04", "x86_64"),
    ("lambda-stack-24-04", "Lambda Stack 24.04", "24.04", "x86_64"),
    ("lambda-stack-24-04-arm", "Lambda Stack 24.04 (arm64)", "24.04", "arm64"),
)
_IMAGE_REGIONS = ("us-west-1", "us-east-1", "us-east-3")


def images() -> list[dict[str, Any]]:
    """The images on offer, one per family and region, with stable ids."""
    found = []
    for f_index, (family, name, version, arch) in enumerate(_IMAGE_FAMILIES):
        for r_index, region in enumerate(_IMAGE_REGIONS):
            found.append(
                {
                    "id": f"{f_index + 1:08x}{r_index + 1:024x}",
                    "created_time": "2025-01-06T00:00:00Z",
                    "updated_time": "2025-06-02T00:00:00Z",
                    "name": name,
                    "description": f"{name}: Ubuntu with CUDA, PyTorch and drivers",
                    "family": family,
                    "version": version,
                    "architecture": arch,
                    "region": region_json(region),
                }
            )
    return found
