"""Image content parts that reach outside the project, never end, or are not images: each refused at its line.

An image ``path`` is read like every file a suite names (under the roots, a regular file, capped
by ``limits.image_bytes``), and its bytes must be an image whatever the file's extension says.
"""

from __future__ import annotations

from . import Hostile

_OUTSIDE = "*lies outside the project (*; it resolves to {}); list extra folders in ?tool.promptcheck? allow_paths"


def _suite(path: str) -> str:
    return (
        "prompts:\n"
        "  look:\n"
        f"    - user: [ {{ text: 'what is this?' }}, {{ image: {{ path: '{path}' }} }} ]\n"
        "cases:\n"
        "  - id: one\n"
        "    assert: [ { contains: what } ]\n"
    )


def _entry(name: str, path: str, expect: str, *, setup: tuple[str, ...] = (), files: dict[str, str | bytes] | None = None,
           extra: str = "", note: str = "") -> Hostile:  # fmt: skip
    suite_files: dict[str, str | bytes] = {"test_x.prompts.yaml": _suite(path), **(files or {})}
    if extra:
        from . import PYPROJECT

        suite_files["pyproject.toml"] = PYPROJECT + extra
    return Hostile(name=name, files=suite_files, expect=(expect,), setup=setup, timeout=30, note=note)


ENTRIES: list[Hostile] = [
    _entry(
        "image_path_escape",
        "../../../../../../../../etc/passwd",
        "test_x.prompts.yaml:2: prompt 'look': image '../../../../../../../../etc/passwd'"
        + _OUTSIDE.format("/etc/passwd"),
        note="`../` climbs out of the project and sends a system file as an image",
    ),
    _entry(
        "image_symlink_dev_zero",
        "images/zero.png",
        "test_x.prompts.yaml:2: prompt 'look': image 'images/zero.png'" + _OUTSIDE.format("/dev/zero"),
        setup=("mkdir -p images", "ln -s /dev/zero images/zero.png"),
        note="an endless device behind an image name",
    ),
    _entry(
        "image_device",
        "/dev/zero",
        "test_x.prompts.yaml:2: prompt 'look': image '/dev/zero'" + _OUTSIDE.format("/dev/zero"),
        note="a device, named directly",
    ),
    _entry(
        "image_huge",
        "images/huge.png",
        "test_x.prompts.yaml:2: prompt 'look': image 'images/huge.png' holds 2048 bytes or more, over limits.image_bytes = 1024*",
        files={"images/huge.png": b"\x89PNG\r\n\x1a\n" + b"\0" * 2040},
        extra="\n[tool.promptcheck.limits]\nimage_bytes = 1024\n",
        note="a file past the image cap is not read into memory, let alone base64-encoded",
    ),
    _entry(
        "image_disguised_text",
        "images/cat.png",
        "test_x.prompts.yaml:2: prompt 'look': image 'images/cat.png' (line 3) is not a PNG, JPEG, GIF or WebP image*",
        files={"images/cat.png": "#!/bin/sh\necho not a cat\n"},
        note="a script with a .png name",
    ),
    _entry(
        "image_fifo",
        "images/pipe.png",
        "test_x.prompts.yaml:2: prompt 'look': image 'images/pipe.png' is a FIFO (named pipe), not a regular file*",
        setup=("mkdir -p images", "mkfifo images/pipe.png"),
        note="opening a FIFO blocks until a writer comes",
    ),
]
