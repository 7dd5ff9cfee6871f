"""Params as the engine delivers them, under both Nextflow parsers, against nextflow_schema.json.

The legacy parser (default in Nextflow 25.10) types CLI values itself; the strict parser (default from
26.04) passes strings, which nf-schema casts for validation from 2.7.2 on. Both paths are emulated from
their source (docs/architecture.md, "Engine facts we rely on") and run with jsonschema, the validator
semantics nf-schema implements (draft 2020-12)."""

from __future__ import annotations

import csv
import io
import json
import re

import jsonschema
import nfcheck
import pytest
from helpers import ROOT

from dnalm.genome.annotations import FORMATS, ROLES


def legacy_value(text: str):
    """nextflow CmdRun.parseParamValue (v25.10.7 CmdRun.groovy:754-763); nf-schema's Types.parseParamValue
    is a copy of it, applied to CLI params under the strict parser (ParameterValidator.groovy:131-159)."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return float(text) if "." in text else int(text)
    return text


def plugin_version() -> tuple[int, ...]:
    found = re.search(r"id 'nf-schema@([\d.]+)'", (ROOT / "nextflow.config").read_text())
    return tuple(int(x) for x in found.group(1).split("."))


def lenient() -> bool:
    validation = re.search(r"^validation \{(.*?)^\}", (ROOT / "nextflow.config").read_text(), re.S | re.M).group(1)
    return bool(re.search(r"lenientMode\s*=\s*true", validation))


def validator() -> jsonschema.protocols.Validator:
    schema = json.loads((ROOT / "nextflow_schema.json").read_text())
    strict_type = jsonschema.Draft202012Validator.VALIDATORS["type"]

    def lenient_type(validator, types, instance, schema):
        """nf-schema's LenientTypeEvaluator: a string param also takes numbers, booleans and null."""
        if "string" in ([types] if isinstance(types, str) else types) and (
                instance is None or isinstance(instance, (int, float, bool))):
            return
        yield from strict_type(validator, types, instance, schema)

    if not lenient():
        return jsonschema.Draft202012Validator(schema)
    return jsonschema.validators.extend(jsonschema.Draft202012Validator, {"type": lenient_type})(schema)


def delivered(cli: dict[str, str], parser: str) -> dict:
    """What validateParameters sees for `--name value` arguments under one parser."""
    if parser == "legacy":
        return {k: legacy_value(v) for k, v in cli.items()}
    cast = plugin_version() >= (2, 7, 2)  # cast_cli_params: on by default under the strict parser
    return {k: legacy_value(v) if cast else v for k, v in cli.items()}


def cli_text(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def schema_defaults() -> dict:
    schema = json.loads((ROOT / "nextflow_schema.json").read_text())
    return {k: p["default"] for g in schema["$defs"].values() for k, p in g["properties"].items()
            if p.get("default") not in (None, "")}


@pytest.mark.parametrize("parser", ["legacy", "strict"])
def test_every_default_typed_on_the_command_line_validates(parser):
    """`--bpe_cycles 600`, `--pretrain_steps 100000`, `--trust_remote_code true` ... as a user types them."""
    cli = {k: cli_text(v) for k, v in schema_defaults().items()}
    cli.update(bpe_cycles="600", nextkmer_k="4", finetune_seeds="1", hpc_account="12345", holdout_contigs="21")
    errors = [f"--{e.path[0] if e.path else '?'}: {e.message}" for e in validator().iter_errors(delivered(cli, parser))]
    assert errors == []


@pytest.mark.parametrize("parser", ["legacy", "strict"])
@pytest.mark.parametrize("name,value", [("pretrain_steps", "abc"), ("pretrain_steps", "1.5"), ("gpus_per_node", "-1"),
                                        ("mlm_probability", "2"), ("trust_remote_code", "yes"),
                                        ("nextkmer_models", "a b"), ("finetune_models", "x;rm -rf y"),
                                        ("genome", "hg38 --x"), ("container_image", "img#x")])
def test_bad_command_line_values_fail_validation(parser, name, value):
    assert list(validator().iter_errors(delivered({name: value}, parser)))


@pytest.mark.parametrize("parser", ["legacy", "strict"])
def test_the_checkpoint_root_is_any_absolute_path(parser):
    """Issue 29, defect 1: the default, built from the launch folder, failed for a folder with a space or
    `~ ( ) ! #` in its path, and a relative path (a different folder in each task) passed; `:` and `,` split
    container bind options."""
    for good in ("/home/me/my runs (2024)/checkpoints", "/scratch/~user/#1!/ckpt"):
        assert not list(validator().iter_errors(delivered({"checkpoint_root": good}, parser))), good
    for bad in ("ckpt", "./ckpt", "~/ckpt", "/it's/here", "/a:b/ckpt", "/a,b/ckpt"):
        errors = list(validator().iter_errors(delivered({"checkpoint_root": bad}, parser)))
        assert errors, bad

def test_every_typed_schema_param_is_converted_where_groovy_uses_it():
    """The matching declaration of each integer/number/boolean param: Groovy converts it (nfcheck (l))."""
    typed = nfcheck.typed_params(ROOT)
    assert {"gpus_per_node", "pretrain_nodes", "trust_remote_code", "pretrain_steps"} <= set(typed)
    assert nfcheck.typed_param_errors(ROOT) == []


def sheet_rows(text: str) -> list[dict]:
    """Rows as nf-schema reads a CSV: cells typed like params (utils/Files.groovy inferType)."""
    return [{k: legacy_value(v) for k, v in row.items() if v != ""} for row in csv.DictReader(io.StringIO(text))]


def annotation_errors(text: str) -> list[str]:
    schema = json.loads((ROOT / "assets" / "schema_annotations.json").read_text())
    rows = sheet_rows(text)
    errors = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(rows)]
    names = [r.get("name") for r in rows]  # nf-schema's uniqueEntries keyword
    return errors + [f"duplicate name {n}" for n in set(names) if names.count(n) > 1]


def test_annotation_sheet_schema_accepts_the_documented_sheet():
    sheet = ("name,path,format,role\nrepeats,rmsk.bed.gz,bed,repeats\npromoters,Hs_EPDnew_006_hg38.sga,sga,tss\n"
             "ctcf_motif,MA0139.1.jaspar,jaspar,motif\n")
    assert annotation_errors(sheet) == []


@pytest.mark.parametrize("row", ["my track,a.bed,bed,genes", "x$(id),a.bed,bed,genes", "genes,a.bed,gff,genes",
                                 "genes,a.bed,bed,enhancers", "genes,a b.bed,bed,genes", "genes,,bed,genes",
                                 "genes;echo,a.bed,bed,genes"])
def test_annotation_sheet_schema_rejects_unsafe_or_unknown_fields(row):
    assert annotation_errors(f"name,path,format,role\n{row}\n")


def test_annotation_sheet_enums_are_the_package_formats_and_roles():
    schema = json.loads((ROOT / "assets" / "schema_annotations.json").read_text())["items"]["properties"]
    assert tuple(schema["format"]["enum"]) == FORMATS and tuple(schema["role"]["enum"]) == ROLES


def test_duplicate_track_names_are_rejected():
    assert annotation_errors("name,path,format,role\ngenes,a.bed,bed,genes\ngenes,b.bed,bed,genes\n")
