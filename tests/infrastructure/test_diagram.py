"""The README's workflow picture is generated from the ASL; it must not drift from it."""

import json
import subprocess
import sys

from scripts.asl_diagram import ASL_PATH, README_PATH, mermaid, readme_block


def test_readme_diagram_matches_the_state_machine():
    assert readme_block() in README_PATH.read_text(), "run: python scripts/asl_diagram.py"


def test_every_state_and_transition_is_drawn():
    definition = json.loads(ASL_PATH.read_text())
    diagram = mermaid(definition)
    for name, state in definition["States"].items():
        assert f"    {name}" in diagram
        targets = [state.get("Next"), state.get("Default")]
        targets += [rule["Next"] for rule in state.get("Choices", []) + state.get("Catch", [])]
        for target in filter(None, targets):
            assert f"> {target}" in diagram, f"{name} -> {target} missing"


def run_check(readme):
    return subprocess.run(
        [sys.executable, "scripts/asl_diagram.py", "--check", "--readme", str(readme)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_check_mode_passes_on_the_readme_and_fails_on_a_stale_copy(tmp_path):
    assert run_check(README_PATH).returncode == 0
    stale = tmp_path / "README.md"
    stale.write_text(README_PATH.read_text().replace("PollSession -->", "PollSession ==>", 1))
    result = run_check(stale)
    assert result.returncode == 1
    assert "out of date" in result.stderr
