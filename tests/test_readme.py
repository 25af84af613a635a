"""The README's command-line examples are the tool's real, current output (run as written)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def console_examples() -> list[tuple[str, list[str]]]:
    """(command, expected lines) for every `$ ` line of every ```console block."""
    examples: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", README, flags=re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                examples.append((line[2:], []))
            elif examples:
                examples[-1][1].append(line)
    return examples


def matches(expected: str, actual: str) -> bool:
    """A shown line matches a real one; "..." inside it stands for text left out."""
    parts = [re.escape(part) for part in expected.strip().split("...")]
    return re.fullmatch(".*?".join(parts), actual.strip()) is not None


@pytest.mark.parametrize(("command", "expected"), console_examples(), ids=lambda v: v if isinstance(v, str) else "")
def test_the_readme_shows_real_output(command, expected):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(command, shell=True, cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    actual = (done.stdout + done.stderr).splitlines()
    position = 0
    for line in expected:
        if line.strip() == "..." or not line.strip():
            continue
        found = next((i for i in range(position, len(actual)) if matches(line, actual[i])), None)
        assert found is not None, f"README shows {line!r} after `{command}`, the tool printed:\n" + "\n".join(actual)
        position = found + 1


def test_the_readme_has_console_examples():
    assert len(console_examples()) >= 2
