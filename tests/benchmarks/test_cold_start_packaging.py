"""The cold-start benchmark's packaging: the template it compares with, Lambda's unzip, bytecode."""

from __future__ import annotations

import py_compile
import zipfile
from datetime import datetime
from pathlib import Path

from benchmarks.coldstart import previous_packaging_template, unpack_as_lambda
from local.template import load_template
from scripts.built_artifacts import modules_without_unchecked_bytecode

ROOT = Path(__file__).resolve().parents[2]


def test_the_previous_packaging_is_the_template_without_the_makefile_build(tmp_path):
    text = previous_packaging_template((ROOT / "template.yaml").read_text(), root=ROOT)
    path = tmp_path / "template.yaml"
    path.write_text(text)
    template = load_template(path)
    functions = {
        name: res for name, res in template["Resources"].items() if res["Type"] == "AWS::Serverless::Function"
    }
    assert len(functions) == 9
    assert "DependenciesLayer" not in template["Resources"]
    assert all("Metadata" not in res for res in functions.values())
    assert template["Globals"]["Function"]["CodeUri"] == f"{ROOT / 'functions'}/"
    assert "Layers" not in template["Globals"]["Function"]


def test_unpacked_files_keep_the_zips_1980_dates(tmp_path):
    archive = tmp_path / "code.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(zipfile.ZipInfo("package/module.py"), "VALUE = 1\n")  # dated 1980, as SAM's
    unpack_as_lambda(archive, tmp_path / "task")
    unpacked = tmp_path / "task" / "package" / "module.py"
    assert unpacked.read_text() == "VALUE = 1\n"
    assert datetime.fromtimestamp(unpacked.stat().st_mtime).year == 1980


def test_only_unchecked_hash_bytecode_counts(tmp_path):
    for name, mode in (
        ("unchecked", py_compile.PycInvalidationMode.UNCHECKED_HASH),
        ("timestamp", py_compile.PycInvalidationMode.TIMESTAMP),
        ("checked", py_compile.PycInvalidationMode.CHECKED_HASH),
    ):
        source = tmp_path / f"{name}.py"
        source.write_text("VALUE = 1\n")
        py_compile.compile(str(source), invalidation_mode=mode, doraise=True)
    (tmp_path / "uncompiled.py").write_text("VALUE = 1\n")
    assert [path.name for path in modules_without_unchecked_bytecode(tmp_path)] == [
        "checked.py",
        "timestamp.py",
        "uncompiled.py",
    ]
