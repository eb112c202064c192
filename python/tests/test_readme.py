"""The README's example is executed, so the documented example cannot rot."""

import os
import re

from conftest import REPO

README = REPO / "python" / "README.md"


def example() -> str:
    text = README.read_text()
    section = text.split("\n## Example\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the Example section holds one python block"
    return blocks[0]


def test_readme_example_runs(monkeypatch):
    code = example()
    assert "encrypt_file" in code and "MultipartContext" in code and "plan_range" in code
    monkeypatch.chdir(REPO)
    namespace = {"__name__": "readme_example"}
    exec(compile(code, str(README), "exec"), namespace)
    # The example's own asserts ran; it reached its end.
    assert namespace["upload"].is_complete()
    assert os.getcwd() == str(REPO)
