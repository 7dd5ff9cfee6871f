"""Static checks of the Nextflow layer, runnable without Nextflow.

Each check takes the repository root and returns a list of problems (empty when the tree is sound), so
tests can run it on the real tree and on copies with planted defects. `render_command` turns a module's
`script:` line plus its `ext.args` into the argv the task runs, so tests can parse it with the CLI's own
parser.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import shlex
from pathlib import Path
from typing import NamedTuple

import reftrace

from dnalm.cli import build_parser, command_module

CONFIGS = ["nextflow.config", "conf/*.config"]
PARAM_USE = re.compile(r"params\.([A-Za-z_]\w*)")


_PARSED: dict[bytes, object] = {}


def parsed(path: Path):
    """reftrace's parse of a script (a Module or a ParseError), kept by the file's content: parsing is the
    slow part of every check, and the planted-defect tests run them on many copies of the tree."""
    key = hashlib.blake2b(Path(path).read_bytes()).digest()
    if key not in _PARSED:
        _PARSED[key] = reftrace.Module.from_file(str(path))
    return _PARSED[key]


def nf_files(root: Path) -> list[Path]:
    """main.nf and the scripts under workflows/, subworkflows/ and modules/ (not a walk of the whole tree,
    which holds the virtual environment)."""
    found = [root / "main.nf"] if (root / "main.nf").is_file() else []
    for folder in ("workflows", "subworkflows", "modules"):
        found += (root / folder).rglob("*.nf")
    return sorted(found)


def config_files(root: Path) -> list[Path]:
    return sorted(p for pattern in CONFIGS for p in root.glob(pattern))


def parse_errors(root: Path) -> list[str]:
    """(a) every .nf and config file parses."""
    problems = []
    for path in nf_files(root):
        if isinstance(parsed(path), reftrace.ParseError):
            problems.append(f"{path.relative_to(root)}: does not parse")
    for path in config_files(root):
        if reftrace.ConfigFile.from_file(str(path)).error is not None:
            problems.append(f"{path.relative_to(root)}: does not parse")
    return problems


def _definitions(path: Path) -> set[str]:
    """Processes, workflows and top-level functions (reftrace lists no functions) a script defines."""
    module = parsed(path)
    functions = set(re.findall(r"^def (\w+)\s*\(", path.read_text(), re.M))
    return {p.name for p in module.processes} | {w.name for w in module.workflows if w.name} | functions


def include_errors(root: Path) -> list[str]:
    """(b) every include resolves to a file that defines the included process or workflow."""
    problems = []
    for path in nf_files(root):
        for include in parsed(path).includes:
            if include.from_module.startswith("plugin/"):
                continue
            target = (path.parent / include.from_module).resolve()
            target = next((t for t in (target.with_name(target.name + ".nf"), target / "main.nf", target)
                           if t.is_file()), None)
            if target is None:
                problems.append(f"{path.relative_to(root)}:{include.line}: include from "
                                f"'{include.from_module}' resolves to no file")
                continue
            defined = _definitions(target)
            for item in include.items:
                if item.name not in defined:
                    problems.append(f"{path.relative_to(root)}:{include.line}: '{item.name}' is not defined in "
                                    f"{target.relative_to(root.resolve())}")
    return problems


def module_files(root: Path) -> list[Path]:
    return sorted((root / "modules").rglob("main.nf"))


def aliases(root: Path) -> dict[str, str]:
    """`include { NAME as ALIAS }` across the pipeline: alias -> process name."""
    return {alias: name for path in nf_files(root)
            for name, alias in re.findall(r"include\s*\{\s*(\w+)\s+as\s+(\w+)\s*\}", path.read_text())}


def module_of(root: Path, process: str) -> Path | None:
    """The module file defining `process` (or the process an alias names)."""
    name = aliases(root).get(process, process)
    return next((p for p in module_files(root) if f"process {name} " in p.read_text()), None)


def section(text: str, name: str) -> str:
    """The text of a process section (`script:`, `stub:`, `output:` ...) up to the next section."""
    match = re.search(rf"^\s*{name}:\s*$(.*?)(?=^\s*(input|output|when|script|stub|exec):\s*$|\Z)", text,
                      re.S | re.M)
    return match.group(1) if match else ""


def process_errors(root: Path) -> list[str]:
    """(c) every process has tag, label, container (multi-node excepted), stub and a versions topic (except
    the consumer of that topic, see topic_errors), and its script names `task.ext.dnalm_code`, the package's
    digest, so that -resume reruns it after the package changed (engine fact 28)."""
    problems = []
    consumers = topic_consumers(root).get("versions", set())
    for path in module_files(root):
        rel = path.relative_to(root)
        text = path.read_text()
        module = parsed(path)
        if isinstance(module, reftrace.ParseError) or len(module.processes) != 1:
            problems.append(f"{rel}: must define exactly one process")
            continue
        proc = module.processes[0]
        labels = [lab._value.label for lab in proc.labels]
        if not proc.tags:
            problems.append(f"{rel}: {proc.name} has no tag")
        if not labels:
            problems.append(f"{rel}: {proc.name} has no resource label")
        if not proc.containers and "process_multinode" not in labels:
            problems.append(f"{rel}: {proc.name} has no container")
        if not section(text, "stub").strip():
            problems.append(f"{rel}: {proc.name} has no stub block")
        if "topic: versions" not in section(text, "output") and proc.name not in consumers:
            problems.append(f"{rel}: {proc.name} has no output on the versions topic")
        if "${task.ext.dnalm_code}" not in section(text, "script"):
            problems.append(f"{rel}: {proc.name}'s script does not name task.ext.dnalm_code: its hash would not "
                            "cover the package")
    return problems


def module_script(path: Path) -> tuple[str, list[str], dict[str, str]]:
    """(subcommand, argv template of the `dnalm` line, `def x = cond ? "..." : ''` definitions)."""
    script = section(path.read_text(), "script")
    lines = [line.strip() for line in script.splitlines()]
    command = next((line for line in lines if line.startswith("dnalm ")), None)
    if command is None:
        raise ValueError(f"{path}: the script has no 'dnalm SUBCOMMAND' line")
    defs = dict(re.findall(r"def (\w+) = (.+)$", script, re.M))
    tokens = shlex.split(command)
    return tokens[1], tokens[2:], defs


def module_subcommands(path: Path) -> list[str]:
    """Every dnalm subcommand a module runs (a launcher and the command it starts)."""
    command, template, _ = module_script(path)
    return [name for name, _ in commands(["dnalm", command, *template])]


def ext_options(root: Path) -> dict[str, dict[str, str]]:
    """{process name: {ext key (args, launch_args): template}} from conf/modules.config.

    A selector may name several processes ('A|B')."""
    text = (root / "conf" / "modules.config").read_text()
    found: dict[str, dict[str, str]] = {}
    for names, body in re.findall(r"withName:\s*'([A-Z0-9_|]+)'\s*\{(.*?)\n    \}", text, re.S):
        for key, template in re.findall(r'ext\.(\w+)\s*=\s*\{\s*"(.*)"\s*\}', body):
            for name in names.split("|"):
                found.setdefault(name, {})[key] = template
    return found


def ext_args(root: Path) -> dict[str, str]:
    """{process name: ext.args template}."""
    return {name: ext["args"] for name, ext in ext_options(root).items() if "args" in ext}


def commands(template: list[str]) -> list[tuple[str, list[str]]]:
    """The dnalm commands of a script line: [(subcommand, its tokens)]; `launch ... -- dnalm X ...` is two."""
    parts: list[tuple[str, list[str]]] = []
    i = 0
    while i < len(template):
        if template[i] == "dnalm" and i + 1 < len(template):
            parts.append((template[i + 1], []))
            i += 2
            continue
        if parts:
            parts[-1][1].append(template[i])
        i += 1
    return parts


@functools.lru_cache(maxsize=None)
def subcommand_flags() -> dict[str, set[str]]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return {name: {s for a in p._actions for s in a.option_strings} for name, p in sub.choices.items()}


def flag_errors(root: Path) -> list[str]:
    """(d) every --flag in a module script and in its ext options exists in that dnalm subcommand.

    A script line may hold two commands (`dnalm launch ... -- dnalm pretrain ...`); each flag, and each
    `${args}` / `${launch_args}` (ext.args, ext.launch_args), is checked against the command it stands in."""
    problems = []
    flags = subcommand_flags()
    options = ext_options(root)
    for path in module_files(root):
        rel = path.relative_to(root)
        proc = parsed(path).processes[0].name
        try:
            command, template, defs = module_script(path)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        parts = commands(["dnalm", command, *template])
        for i, (name, tokens) in enumerate(parts):
            if name not in flags:
                problems.append(f"{rel}: 'dnalm {name}' is not a dnalm subcommand")
                continue
            used = [t for t in tokens if t.startswith("--") and t != "--"]
            for t in tokens:
                var = re.fullmatch(r"\$\{(\w+)\}", t)
                if var and var.group(1) in defs:
                    used += re.findall(r"(--[a-z][a-z0-9-]*)", defs[var.group(1)])
                if var and var.group(1) in ("args", "launch_args"):
                    used += re.findall(r"(--[a-z][a-z0-9-]*)", options.get(proc, {}).get(var.group(1), ""))
            for flag in used:
                if flag not in flags[name]:
                    problems.append(f"{rel}: {proc} passes {flag}, which 'dnalm {name}' does not have")
    for proc in options:
        if module_of(root, proc) is None:
            problems.append(f"conf/modules.config: ext options for unknown process {proc}")
    return problems


def declared_params(root: Path) -> set[str]:
    """Params set in the params block of nextflow.config."""
    text = (root / "nextflow.config").read_text()
    block = re.search(r"^params \{(.*?)^\}", text, re.S | re.M)
    return set(re.findall(r"^\s+(\w+)\s*=", block.group(1), re.M)) if block else set()


def schema_params(root: Path) -> set[str]:
    schema = json.loads((root / "nextflow_schema.json").read_text())
    return {p for group in schema.get("$defs", {}).values() for p in group.get("properties", {})}


def used_params(root: Path) -> set[str]:
    used = set()
    for path in nf_files(root) + config_files(root):
        used |= set(PARAM_USE.findall(strip_comments(path.read_text())))
    return used - {"genomes"}


def strip_comments(text: str) -> str:
    """Nextflow code without `/* */` blocks and whole-line `//` comments."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"^\s*//.*$", "", text, flags=re.M)


def param_errors(root: Path) -> list[str]:
    """(e) params used are declared in nextflow.config and the schema; every schema param is used."""
    declared, schema, used = declared_params(root), schema_params(root), used_params(root)
    problems = [f"params.{p} is used but not declared in nextflow.config" for p in sorted(used - declared)]
    problems += [f"params.{p} is used but not in nextflow_schema.json" for p in sorted(used - schema)]
    problems += [f"params.{p} is in nextflow_schema.json but never used" for p in sorted(schema - used)]
    problems += [f"params.{p} is declared in nextflow.config but not in nextflow_schema.json"
                 for p in sorted(declared - schema)]
    return problems


# --- Engine behaviour (docs/architecture.md, "Engine facts we rely on") -----------------------------------

def _workflow_texts(root: Path) -> dict[Path, str]:
    return {path: strip_comments(path.read_text()) for path in nf_files(root) if "modules" not in path.parts}


def _calls(text: str) -> list[tuple[str, str]]:
    """(PROCESS_OR_WORKFLOW, argument text) of every upper-case call, arguments matched by parentheses."""
    found = []
    for match in re.finditer(r"\b([A-Z][A-Z0-9_]+)\s*\(", text):
        depth, i = 1, match.end()
        while depth and i < len(text):
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        found.append((match.group(1), text[match.end():i - 1]))
    return found


def topic_consumers(root: Path) -> dict[str, set[str]]:
    """{topic: processes fed (directly or through channels derived from it) by `channel.topic('topic')`}.

    Taint flows through assignments (`x = ... channel.topic('t') ...`, `y = x.map {...}`) and through the
    outputs of a consumer (`PROC.out`), to a fixed point."""
    consumers: dict[str, set[str]] = {}
    for text in _workflow_texts(root).values():
        statements = re.split(r"\n(?=\s*\w+\s*=|\s*[A-Z][A-Z0-9_]+\s*\()", text)
        for topic in set(re.findall(r"channel\.topic\(\s*'([^']+)'\s*\)", text)):
            tainted = {f"channel.topic('{topic}')"}
            procs: set[str] = set()
            changed = True
            while changed:
                changed = False
                marks = tainted | {f"{proc}.out" for proc in procs}
                for statement in statements:
                    assigned = re.match(r"\s*(?:def\s+)?(\w+)\s*=", statement)
                    if assigned and assigned.group(1) not in tainted and any(
                            re.search(rf"(?<![\w.]){re.escape(m)}(?!\w)", statement.split("=", 1)[1]) for m in marks):
                        tainted.add(assigned.group(1))
                        changed = True
                for proc, args in _calls(text):
                    if proc not in procs and any(re.search(rf"(?<![\w.]){re.escape(m)}(?!\w)", args) for m in marks):
                        procs.add(proc)
                        changed = True
            consumers.setdefault(topic, set()).update(procs)
    return consumers


def topic_errors(root: Path) -> list[str]:
    """(f) a process that consumes a topic channel does not emit to it: the topic would never close and the
    run would hang at its end."""
    problems = []
    for topic, procs in topic_consumers(root).items():
        for proc in sorted(procs):
            path = module_of(root, proc)
            if path and re.search(rf"topic:\s*'?{re.escape(topic)}'?\b", section(path.read_text(), "output")):
                problems.append(f"{path.relative_to(root)}: {proc} consumes channel.topic('{topic}') and also "
                                f"emits to it: the run would never end")
    return problems


REPORT_SCOPES = ("timeline", "report", "trace", "dag")


def report_file_errors(root: Path) -> list[str]:
    """(g) the trace/report/timeline/DAG files of a run get a new name per run (or `overwrite = true`), so a
    second run into the same --outdir, -resume included, does not abort on an existing file."""
    text = strip_comments((root / "nextflow.config").read_text())
    problems = []
    for scope in REPORT_SCOPES:
        block = re.search(rf"^{scope}\s*\{{(.*?)^\}}", text, re.S | re.M)
        body = block.group(1) if block else ""
        if not re.search(r"enabled\s*=\s*true", body):
            continue
        name = re.search(r"file\s*=\s*\"([^\"]*)\"", body)
        varying = name and "${params.trace_report_suffix}" in name.group(1)
        if not varying and not re.search(r"overwrite\s*=\s*true", body):
            problems.append(f"nextflow.config: {scope}.file has a fixed name and overwrite is false: the next run "
                            f"into the same --outdir stops on the existing file")
    if "trace_report_suffix" in text and not re.search(r"^\s+trace_report_suffix\s*=\s*new java\.util\.Date\(\)",
                                                       text, re.M):
        problems.append("nextflow.config: params.trace_report_suffix must default to the run's start time")
    return problems


def unsorted_list_errors(root: Path) -> list[str]:
    """(h) lists gathered from a channel are sorted: tasks finish in any order, and a list in completion
    order changes the hash of the task it feeds, so -resume reruns it."""
    problems = []
    for path, text in _workflow_texts(root).items():
        for number, line in enumerate(text.splitlines(), 1):
            if re.search(r"\.toList\(\s*\)|\.collect\(\s*\)", line):
                problems.append(f"{path.relative_to(root)}:{number}: an unsorted toList()/collect() gathers a "
                                f"channel; use toSortedList or collect(sort: true)")
    return problems


def _block(text: str, selector: str) -> str:
    match = re.search(rf"{selector}\s*\{{(.*?)\n    \}}", text, re.S)
    return match.group(1) if match else ""


def gpu_errors(root: Path) -> list[str]:
    """(i) process_gpu tasks get GPUs, and through them the container engine's GPU flag, in conf/base.config,
    whatever the profile; their container is the GPU image, and their dnalm step is told to use a GPU (`--device cuda`,
    which stops when none is visible), whenever GPUs are requested."""
    base = strip_comments((root / "conf" / "base.config").read_text())
    gpu = _block(base, r"withLabel:\s*'process_gpu'")
    problems = []
    if not re.search(r"accelerator\s*=.*params\.gpus_per_node", gpu):
        problems.append("conf/base.config: process_gpu sets no accelerator from params.gpus_per_node")
    options = re.search(r"^    containerOptions\s*=\s*\{(.*?)^    \}", base, re.S | re.M)
    if not options or not all(flag in options.group(1) for flag in ("task.accelerator", "--nv", "--gpus all")):
        problems.append("conf/base.config: containerOptions gives tasks with GPUs (task.accelerator) no container "
                        "GPU flags (--nv, --gpus all)")
    for path in config_files(root):  # a selector's containerOptions would replace the one above, mounts and all
        if re.search(r"^[ \t]{8,}containerOptions\s*=", strip_comments(path.read_text()), re.M):
            problems.append(f"{path.relative_to(root)}: a selector sets containerOptions, replacing conf/base.config's")
    device = "--device ${(params.gpus_per_node as Integer) ? 'cuda' : 'cpu'}"
    options = ext_options(root)
    for path in module_files(root):
        text = path.read_text()
        proc = re.search(r"^process (\w+)", text, re.M).group(1)
        if "label 'process_gpu'" in text and device not in options.get(proc, {}).get("args", ""):
            problems.append(f"{path.relative_to(root)}: {proc} does not pass {device}: without GPUs in its "
                            f"container it would run on the CPU silently")
        container = re.search(r"^\s*container\s+(.+)$", text, re.M)
        if "label 'process_gpu'" in text and (not container or "params.container_image_gpu" not in container.group(1)):
            problems.append(f"{path.relative_to(root)}: a process_gpu task without the GPU image")
    return problems



def module_labels(path: Path) -> tuple[str, list[str]]:
    """A module's process name and resource labels."""
    text = path.read_text()
    return re.search(r"^process (\w+)", text, re.M).group(1), re.findall(r"^\s*label\s+'(\w+)'", text, re.M)


def label_setting(root: Path, labels: list[str], process: str, directive: str) -> int:
    """A task's first-attempt `cpus`, or `memory` in GB: the generic setting, then every matching withLabel
    block in the order the config lists them (so a later block overrides an earlier one, whatever the label
    order in the module), then a withName block (engine facts 7 and 15)."""
    base = strip_comments((root / "conf" / "base.config").read_text())
    value = re.compile(rf"{directive}\s*=\s*\{{\s*(\d+)")
    generic = value.search(base[:base.index("withLabel")])
    found = int(generic.group(1)) if generic else 1
    for kind, name, body in re.findall(r"with(Label|Name):\s*'([\w|]+)'\s*\{(.*?)\n    \}", base, re.S):
        if (kind == "Name" and process in name.split("|")) or (kind == "Label" and name in labels):
            setting = value.search(body)
            found = int(setting.group(1)) if setting else found
    return found


def thread_errors(root: Path) -> list[str]:
    """(m) a step told to use `task.cpus` threads gets more than one CPU from its labels: a multi-threaded step
    under process_single runs on one core on a cluster, and nothing fails to say so."""
    problems = []
    args = ext_args(root)
    for path in module_files(root):
        proc, labels = module_labels(path)
        if "task.cpus" not in args.get(proc, "") + section(path.read_text(), "script"):
            continue
        if label_setting(root, labels, proc, "cpus") < 2:
            problems.append(f"{path.relative_to(root)}: {proc} runs task.cpus threads, but its labels "
                            f"({', '.join(labels)}) give it 1 CPU")
    return problems

# --- Values that reach a shell line ---------------------------------------------------------------------

SHELL_CHARACTERS = " \t\n'\"`$;&|<>(){}\\*?[]#~!"
# meta keys that reach task command lines, and what validates each
META_VALIDATORS = {
    "id": "safe-id", "task": "safe-id", "genome_id": "safe-id",
    "candidates": "safe-id",  # this run's model ids, joined by ','
    "k": "integer", "max_k": "integer", "stride": "integer", "next_k": "integer",
    "kind": [("nextflow_schema.json", "kmer_vocabs"), ("nextflow_schema.json", "tfidf_vocabs")],
    "format": [("assets/schema_annotations.json", "format")],
    "role": [("assets/schema_annotations.json", "role")],
    "contigs": [("nextflow_schema.json", "contigs")],
    "exclude_contigs": [("nextflow_schema.json", "exclude_contigs")],
    "holdout_contigs": [("nextflow_schema.json", "holdout_contigs")],
    "hub_id": [("nextflow_schema.json", "nextkmer_models"), ("nextflow_schema.json", "finetune_models")],
}
SAFE_VALUES = {"task.cpus", "task.process", "workflow.workDir"}  # numbers and Nextflow's own paths
VAL_INPUTS = {"k"}  # `val` inputs that are integers (NEXTKMER: kmer_values.tokenize(',')*.toInteger())


def _schema_property(root: Path, file: str, name: str) -> dict:
    schema = json.loads((root / file).read_text())
    groups = list(schema.get("$defs", {}).values()) + [schema.get("items", {})]
    return next((g["properties"][name] for g in groups if name in g.get("properties", {})), {})


def _admits(pattern: str, samples: list[str], characters: str) -> str | None:
    """A character the pattern lets into a value it accepts (JSON-schema patterns match anywhere)."""
    for base in [s for s in samples if re.search(pattern, s)]:
        for char in characters:
            # a trailing newline passes `$` (Java's and Python's alike) but only ends the line early: the
            # task then fails on its own text, so it is not counted
            variants = {char + base, base[:1] + char + base[1:], base + char + base, base + char} - {base + "\n"}
            if any(re.search(pattern, value) for value in variants):
                return char
    return None


def _leak(prop: dict, characters: str) -> str | None:
    """What of `characters` a schema property lets through ('' when none; None when nothing checks it)."""
    if prop.get("type") in ("integer", "number", "boolean"):
        return ""
    if "enum" in prop:
        return "".join(c for c in characters if any(c in str(v) for v in prop["enum"]))
    if "pattern" in prop:
        samples = [str(prop.get("default", "")), "a", "1", "chr1", "a/b", "kmer:4"]
        return _admits(prop["pattern"], samples, characters) or ""
    return None


def safe_id_pattern(root: Path) -> str | None:
    text = (root / "subworkflows" / "local" / "utils_dnalm_pipeline" / "main.nf").read_text()
    match = re.search(r"def safeId\(.*?==~\s*/(.+?)/\)", text, re.S)
    return f"\\A(?:{match.group(1)})\\Z" if match else None  # Groovy's ==~ matches the whole string


def _value_leak(root: Path, name: str, characters: str) -> str | None:
    if name in SAFE_VALUES:
        return ""
    head, _, key = name.partition(".")
    if head == "params":
        return _leak(_schema_property(root, "nextflow_schema.json", key), characters)
    if head == "meta":
        validator = META_VALIDATORS.get(key)
        if validator == "integer":
            return ""
        if validator == "safe-id":
            pattern = safe_id_pattern(root)
            return None if pattern is None else (_admits(pattern, ["a", "1", "chr1"], characters) or "")
        if validator:
            leaks = [_leak(_schema_property(root, file, prop), characters) for file, prop in validator]
            return None if None in leaks else "".join(leaks)
    return None


def _interpolations(template: str) -> list[tuple[str, bool]]:
    """(value, inside single quotes) for every `${...}` of a shell template that puts its value there: a
    `${a.b ? 'x' : 'y'}` puts one of its two literals, never a.b."""
    bare = INTERPOLATION.sub(lambda m: "$" * len(m.group(0)), template)  # quotes inside ${...} do not count
    return [(m.group(1), bare[:m.start()].count("'") % 2 == 1) for m in INTERPOLATION.finditer(template)
            if m.group(3) is None]


def shell_value_errors(root: Path) -> list[str]:
    """(j) every value interpolated into a task's command line is validated: unquoted only when its
    validation admits no shell character, in single quotes only when it admits no quote. Staged inputs
    (path names) and the ext options themselves are the exceptions."""
    problems = []
    options = ext_options(root)
    for path in module_files(root):
        rel = path.relative_to(root)
        text = path.read_text()
        proc = parsed(path).processes[0].name
        inputs = set(re.findall(r"path\((\w+)", section(text, "input")))
        script = section(text, "script")
        templates = [line.strip() for line in script.splitlines() if line.strip().startswith("dnalm ")]
        templates += [expr for _name, expr in re.findall(r"def (\w+) = (.+)$", script, re.M)]
        templates += list(options.get(proc, {}).values())
        aliases_of = [name for name, target in aliases(root).items() if target == proc]
        for alias in aliases_of:
            templates += list(options.get(alias, {}).values())
        defined = set(re.findall(r"def (\w+) =", script))
        for template in templates:
            for value, quoted in _interpolations(template):
                if value in inputs or value in defined or value in VAL_INPUTS:
                    continue
                leak = _value_leak(root, value, "'" if quoted else SHELL_CHARACTERS)
                if leak is None:
                    problems.append(f"{rel}: {proc} puts ${{{value}}} on its command line, and nothing validates it")
                elif leak:
                    problems.append(f"{rel}: {proc} puts ${{{value}}} on its command line "
                                    f"{'in quotes' if quoted else 'unquoted'}, and its validation lets {leak!r} through")
    return problems


def meta_id_errors(root: Path) -> list[str]:
    """(k) every id/task/genome_id put into a meta map is a literal, a copy of another id, or goes through
    safeId (or a helper that calls it), so META_VALIDATORS' 'safe-id' holds."""
    problems = []
    helpers = ("safeId(", "genomeId(", "importedTaskId(")
    for path, text in _workflow_texts(root).items():
        for match in re.finditer(r"[\[,]\s*(id|task|genome_id):\s*([^,\]\n]+)", text):
            value = match.group(2).strip()
            literal = re.fullmatch(r"'[A-Za-z0-9_.-]+'", value)
            copy = re.fullmatch(r"\w+\.id", value)
            if not (literal or copy or any(h in value for h in helpers)):
                line = text[:match.start()].count("\n") + 1
                problems.append(f"{path.relative_to(root)}:{line}: {match.group(1)}: {value} does not go through safeId")
    return problems


def typed_params(root: Path) -> dict[str, str]:
    """{param: integer/number/boolean} from the schema."""
    schema = json.loads((root / "nextflow_schema.json").read_text())
    return {name: prop["type"] for group in schema["$defs"].values() for name, prop in group["properties"].items()
            if prop.get("type") in ("integer", "number", "boolean")}


TYPED_USE = {"integer": r"\(params\.{0} as Integer\)", "number": r"\(params\.{0} as BigDecimal\)",
             "boolean": r"params\.{0}\.toString\(\) == 'true'"}


def typed_param_errors(root: Path) -> list[str]:
    """(l) every integer/number/boolean param that Groovy decides on (a comparison, a condition, a value
    passed on) is converted first: the strict syntax parser passes CLI values as strings ('0' is true, '2' >
    1 fails), the legacy one as numbers. Plain `${params.x}` in a command line needs no conversion."""
    problems = []
    typed = typed_params(root)
    for path in nf_files(root) + config_files(root):
        text = strip_comments(path.read_text())
        for match in re.finditer(r"params\.(\w+)", text):
            name = match.group(1)
            if name not in typed:
                continue
            start = match.start()
            plain = text[start - 2:start] == "${" and text[match.end():match.end() + 1] == "}"
            converted = any(re.match(TYPED_USE[typed[name]].format(name), text[i:]) for i in (start - 1, start))
            assigned = re.match(r"\s*=[^=]", text[match.end():])  # a default set in a config
            if not (plain or converted or assigned):
                line = text[:start].count("\n") + 1
                problems.append(f"{path.relative_to(root)}:{line}: params.{name} ({typed[name]}) is used without "
                                f"conversion; write {TYPED_USE[typed[name]].format(name).replace(chr(92), '')}")
    return problems


# --- One source per rule (docs/architecture.md, "One source per rule") ----------------------------------------

HELPERS = Path("subworkflows/local/utils_dnalm_pipeline/main.nf")


def helper_errors(root: Path) -> list[str]:
    """(n) Groovy functions are defined in subworkflows/local/utils_dnalm_pipeline only (nf-core's layout), so no
    subworkflow keeps a copy of a rule that drifts from the shared one."""
    return [f"{path.relative_to(root)}: defines {name}(); Groovy helpers belong in {HELPERS}"
            for path in nf_files(root) if path.relative_to(root) != HELPERS
            for name in re.findall(r"^def (\w+)\s*\(", strip_comments(path.read_text()), re.M)]


def duplicate_call_errors(root: Path) -> list[str]:
    """(o) no module runs twice on the same input: two calls of it (under any alias) with the same argument
    expression build the same outputs twice; build once and pass the channel to every consumer (engine fact 16)."""
    problems, seen = [], {}
    for path, text in _workflow_texts(root).items():
        for proc, args in _calls(text):
            module = module_of(root, proc)
            if module is None:
                continue
            key, where = (module, re.sub(r"\s+", "", args)), f"{path.relative_to(root)}: {proc}"
            if key in seen:
                problems.append(f"{where} runs {module.relative_to(root)} on the same input as {seen[key]}: build it "
                                f"once and pass the channel on")
            seen.setdefault(key, where)
    return problems


def output_arity_errors(root: Path) -> list[str]:
    """(p) every `tuple val(meta), path(glob)` output declares its arity: without one Nextflow emits one path or
    a list, depending on how many matched at run time (engine fact 18), and the workflow, which takes these as
    [meta, dir] and reads `dir.name`, would fail on a list. (Plain `path` outputs, the MultiQC files, are only
    gathered, never read one by one.)"""
    return [f"{path.relative_to(root)}: output '{emit}' ({out.pattern}) is a glob and declares no arity"
            for path in module_files(root) for emit, out in module_outputs(path).items()
            if out.tuple and re.search(r"[*?{]", re.sub(r"\$\{[^}]*\}", "", out.pattern)) and "arity" not in out.options]


def named_output_errors(root: Path) -> list[str]:
    """(q) a step that names its own output (its CLI module has `default_out`, e.g. kmer-vocab) is run without
    --out, so the workflow takes the name from the directory instead of computing it a second time in Groovy."""
    problems = []
    for path in module_files(root):
        command, template, defs = module_script(path)
        if hasattr(command_module(command), "default_out") and "--out" in " ".join(template + list(defs.values())):
            problems.append(f"{path.relative_to(root)}: passes --out to 'dnalm {command}', which names its output; "
                            f"take the name from the directory (namedByDir)")
    return problems


def optional_file_errors(root: Path) -> list[str]:
    """(r) `file(params.X ...)` only where params.X is set: an optional input (a param null by default, such as
    --variants) is guarded in the same expression (`params.X ? file(params.X) : null`, or `params.X ?: ...`), and
    the workflow turns null into an empty channel, so its step runs no task (engine fact 21) instead of
    failing on file(null)."""
    defaults, problems = nextflow_params(root), []
    for path in nf_files(root):
        for line in strip_comments(path.read_text()).splitlines():
            for name in re.findall(r"\bfile\(\s*params\.(\w+)", line):
                if defaults.get(name) is None and not re.search(rf"params\.{name}\s*\?", line):
                    problems.append(f"{path.relative_to(root)}: file(params.{name}) without `params.{name} ?` in the "
                                    f"same expression: fails where --{name} is not given")
    return problems


def null_file_errors(root: Path) -> list[str]:
    """(s) an absent optional file is `[]`, never null: a path input given `[]` stages nothing and reads as an
    empty (false) list, while null stops the task ("Path value cannot be null"); and a channel of it holds
    `[[]]`, since combine flattens a list item into the tuple (engine fact 22)."""
    problems = []
    for path, text in _workflow_texts(root).items():
        for match in re.finditer(r"channel\.value\(\s*null\s*\)|[,\[]\s*null\s*\]|\?:\s*null\s*\]", text):
            line = text[:match.start()].count("\n") + 1
            problems.append(f"{path.relative_to(root)}:{line}: `{match.group(0).strip()}` stages a null as a file; "
                            "give [] for an absent file")
        for match in re.finditer(r"channel\.value\(\s*\[\s*\]\s*\)", text):
            line = text[:match.start()].count("\n") + 1
            problems.append(f"{path.relative_to(root)}:{line}: `{match.group(0)}`: combine flattens it away, so the "
                            "tuple is one file short; give channel.value([[]])")
    return problems


def closure_call_errors(root: Path) -> list[str]:
    """(t) no variable holding a closure is called like a function (`def f = { ... }; f(x)`): Groovy runs it,
    but the strict syntax parser (the default from Nextflow 26.04) resolves `f(x)` only against functions the
    script defines or includes and stops the run at compile time, "`f` is not defined" (engine fact 26)."""
    problems = []
    for path in nf_files(root) + config_files(root):
        text = strip_comments(path.read_text())
        functions = set(re.findall(r"^def (\w+)\s*\(", text, re.M))
        for name in set(re.findall(r"\b(?:def\s+)?(\w+)\s*=\s*\{", text)) - functions:
            for match in re.finditer(rf"(?<![\w.$]){name}\s*\(", text):
                line = text[:match.start()].count("\n") + 1
                problems.append(f"{path.relative_to(root)}:{line}: the closure variable `{name}` is called like a "
                                f"function; the strict syntax parser refuses it: define `def {name}(...)` instead")
    return problems


def handler_errors(root: Path) -> list[str]:
    """(w) a `workflow.onComplete`/`onError` handler only calls functions: Nextflow resolves the names in it
    against the script's binding, where the strict syntax parser puts no `workflow`, so `workflow.success`
    there fails when the run ends (engine fact 29); a function reads them as any script does."""
    problems = []
    for path in nf_files(root):
        text = strip_comments(path.read_text())
        for match in re.finditer(r"workflow\.on(?:Complete|Error)\s*\{", text):
            body = text[match.end():text.index("\n    }", match.end())]
            for name in sorted(set(re.findall(r"(?<![\w.])(workflow|params|log|session)\.", body))):
                line = text[:match.start()].count("\n") + 1
                problems.append(f"{path.relative_to(root)}:{line}: the {match.group(0)[:-1].strip()} handler reads "
                                f"`{name}.`, which is null there under the strict parser; call a function instead")
    return problems

def eval_pipe_errors(root: Path) -> list[str]:
    """(u) an `eval()` output runs one command, no pipe: Nextflow runs it without pipefail, so in `a | b` the
    failure of `a` (a host Python that cannot import dnalm) is lost and the task records an empty version
    (engine fact 27)."""
    return [f"{path.relative_to(root)}: eval({command}) pipes; a failure of its first command would be hidden"
            for path in module_files(root)
            for command in re.findall(r"\beval\((['\"].*?['\"])\)", section(path.read_text(), "output"))
            if "|" in command]


def stub_command_errors(root: Path) -> list[str]:
    """(v) a stub runs no `dnalm` command: `-stub` checks the wiring where the Python environment is absent
    (the versions' `dnalm --version` needs only a Python 3 standard library, dnalm/__main__.py)."""
    return [f"{path.relative_to(root)}: its stub runs `dnalm`; a -stub run needs no Python environment"
            for path in module_files(root)
            if re.search(r"(?m)^\s*dnalm\s", section(path.read_text(), "stub"))]


ALL_CHECKS = [typed_param_errors, parse_errors, include_errors, process_errors, flag_errors, param_errors, topic_errors,
              report_file_errors, unsorted_list_errors, gpu_errors, shell_value_errors, meta_id_errors, thread_errors,
              helper_errors, duplicate_call_errors, output_arity_errors, named_output_errors, optional_file_errors,
              null_file_errors, closure_call_errors, handler_errors, eval_pipe_errors,
              stub_command_errors]


# `${a.b}`, `${(a.b as Integer)}`, `${a.b ?: default}` (a word or a value such as task.cpus) and
# `${a.b ? 'x' : 'y'}`: the forms ext options may use
INTERPOLATION = re.compile(r"\$\{\(?([\w.]+)(?: as Integer\))?(?:\s*\?:\s*([\w.]+)|\s*\?\s*'([^']*)'\s*:\s*'([^']*)')?\}")


def _value(path: str, values: dict) -> object:
    value: object = values
    for part in path.split("."):
        value = value[part] if isinstance(value, dict) else getattr(value, part)
    return value


def _interpolate(template: str, values: dict) -> str:
    def lookup(match: re.Match) -> str:
        value = _value(match.group(1), values)
        if " as Integer)" in match.group(0):
            value = int(value)
        if match.group(2) is not None:  # Groovy's elvis: a false value gives the default
            default = match.group(2)
            return str(value) if _truthy(value) else str(_value(default, values) if "." in default else default)
        if match.group(3) is not None:
            return match.group(3) if _truthy(value) else match.group(4)
        return "" if value is None else str(value)
    return INTERPOLATION.sub(lookup, template)


def _truthy(value: object) -> bool:
    return value not in (None, "", [], 0, False)


def render_command(root: Path, process: str, values: dict) -> list[str]:
    """The argv a task of `process` runs, from its module's script line and its ext options.

    `values` holds the task's inputs by name, `meta` and `params`. Supports exactly the forms the
    modules use: `${a.b}` interpolation and `def x = cond ? "..." : ''` (or `: "..."`).
    """
    command, template, defs = module_script(module_of(root, process))
    local = dict(values)
    for name, expr in defs.items():
        conditional = re.fullmatch(r"([\w.]+) \? \"(.*?)\" : (?:''|\"(.*)\")", expr.strip())
        if name == "args" or not conditional:
            continue
        try:
            cond = _interpolate("${" + conditional.group(1) + "}", local)
        except KeyError:  # Groovy: a missing map key is null, so the condition is false
            cond = ""
        local[name] = _interpolate(conditional.group(2) if _truthy(cond) else conditional.group(3) or "", local)
    for key, ext_template in ext_options(root).get(process, {}).items():
        local[key] = _interpolate(ext_template, local)
    local.setdefault("args", "")
    local.setdefault("launch_args", "")
    return ["dnalm", command] + shlex.split(_interpolate(" ".join(shlex.quote(t) if "$" not in t else t
                                                                     for t in template), local))


class Output(NamedTuple):
    pattern: str
    options: dict[str, str]
    tuple: bool  # `tuple val(meta), path(...)`: the workflow gets [meta, path]


def module_outputs(path: Path) -> dict[str, Output]:
    """{emit: Output} of a module's `path` outputs: `path("pattern", option: value, ...)` in a tuple or alone,
    or `path "pattern", option: value`."""
    found = {}
    for line in section(path.read_text(), "output").splitlines():
        declared = re.search(r'path\(?\s*"([^"]+)"((?:\s*,\s*(?!emit:)\w+:\s*[^,)]+)*)', line)
        emit = re.search(r"emit:\s*(\w+)", line)
        if declared and emit:
            options = dict(re.findall(r"(\w+):\s*'?([^,')]+?)'?\s*(?=,|$)", declared.group(2)))
            found[emit.group(1)] = Output(declared.group(1), options, line.strip().startswith("tuple"))
    return found


def _alternatives(pattern: str) -> list[str]:
    """A glob's `{a,b}` alternatives written out (Python's glob has none, Java's has them)."""
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    return [p for alt in match.group(1).split(",")
            for p in _alternatives(pattern[:match.start()] + alt + pattern[match.end():])]


def output_paths(root: Path, process: str, emit: str, values: dict, task_dir: Path) -> list[Path]:
    """What Nextflow collects for a `path` output of a finished task (engine fact 17): the pattern, rendered
    with the task's values, as a glob relative to the task directory ({a,b} alternatives, `*` within one level),
    hidden files left out, only directories for `type: 'dir'`; an `arity` other than the number found fails."""
    pattern, options, _ = module_outputs(module_of(root, process))[emit]
    rendered = _interpolate(pattern, values)
    found = sorted({p for alt in _alternatives(rendered) for p in task_dir.glob(alt)
                    if not any(part.startswith(".") for part in p.relative_to(task_dir).parts)})
    kind = options.get("type", "any")
    found = [p for p in found if kind == "any" or (p.is_dir() if kind == "dir" else p.is_file())]
    low, _, high = options.get("arity", "0..*").partition("..")
    if not int(low) <= len(found) <= (int(high or low) if high != "*" else len(found)):
        raise AssertionError(f"{process} {emit}: {rendered} expects {options['arity']} path(s), found {found}")
    return found


def nextflow_params(root: Path, profile_config: str | None = None) -> dict:
    """Param values of nextflow.config (+ conf/genomes.config), overridden by a profile's config.

    Reads simple literals only: top-level `name = value` lines of the params block, and the
    `'genome' { key = value }` entries of `params.genomes`.
    """
    params: dict = {"genomes": {}}
    configs = [root / "nextflow.config", root / "conf" / "genomes.config"]
    for path in configs + ([root / profile_config] if profile_config else []):
        block = re.search(r"^params \{(.*?)^\}", path.read_text(), re.S | re.M)
        for name, value in re.findall(r"^    (\w+)\s*=\s*(.+?)\s*$", block.group(1), re.M):
            params[name] = _literal(value, root)
        for genome, body in re.findall(r"^        '([\w.-]+)' \{(.*?)^        \}", block.group(1), re.S | re.M):
            entry = params["genomes"].setdefault(genome, {})
            for name, value in re.findall(r"^            (\w+)\s*=\s*(.+?)\s*$", body, re.M):
                entry[name] = _literal(value, root)
    return params


def _literal(text: str, root: Path):
    if text in ("null", "true", "false"):
        return {"null": None, "true": True, "false": False}[text]
    if text[0] in "'\"":  # a quoted string, maybe followed by a // comment
        return text[1:text.index(text[0], 1)].replace("${projectDir}", str(root))
    if re.fullmatch(r"-?[0-9.eE+-]+", text):
        return float(text) if "." in text or "e" in text.lower() else int(text)
    return None  # an expression (e.g. the trace file suffix, a date): not a literal

