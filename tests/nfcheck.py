"""Static checks of the Nextflow layer, runnable without Nextflow.

Each check takes the repository root and returns a list of problems (empty when the tree is sound), so
tests can run it on the real tree and on copies with planted defects. `render_command` turns a module's
`script:` line plus its `ext.args` into the argv the task runs, which the end-to-end test executes.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import reftrace

from dnalm.cli import build_parser

CONFIGS = ["nextflow.config", "conf/*.config"]
PARAM_USE = re.compile(r"params\.([A-Za-z_]\w*)")


def nf_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.nf")
                  if not {".nf-test", "work", ".nextflow"} & set(p.relative_to(root).parts))


def config_files(root: Path) -> list[Path]:
    return sorted(p for pattern in CONFIGS for p in root.glob(pattern))


def parse_errors(root: Path) -> list[str]:
    """(a) every .nf and config file parses."""
    problems = []
    for path in nf_files(root):
        if isinstance(reftrace.Module.from_file(str(path)), reftrace.ParseError):
            problems.append(f"{path.relative_to(root)}: does not parse")
    for path in config_files(root):
        if reftrace.ConfigFile.from_file(str(path)).error is not None:
            problems.append(f"{path.relative_to(root)}: does not parse")
    return problems


def _definitions(path: Path) -> set[str]:
    """Processes, workflows and top-level functions (reftrace lists no functions) a script defines."""
    module = reftrace.Module.from_file(str(path))
    functions = set(re.findall(r"^def (\w+)\s*\(", path.read_text(), re.M))
    return {p.name for p in module.processes} | {w.name for w in module.workflows if w.name} | functions


def include_errors(root: Path) -> list[str]:
    """(b) every include resolves to a file that defines the included process or workflow."""
    problems = []
    for path in nf_files(root):
        for include in reftrace.Module.from_file(str(path)).includes:
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
    """(c) every process has tag, label, container (multi-node excepted), stub and a versions topic."""
    problems = []
    for path in module_files(root):
        rel = path.relative_to(root)
        text = path.read_text()
        module = reftrace.Module.from_file(str(path))
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
        if "topic: versions" not in section(text, "output"):
            problems.append(f"{rel}: {proc.name} has no output on the versions topic")
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
        proc = reftrace.Module.from_file(str(path)).processes[0].name
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


ALL_CHECKS = [parse_errors, include_errors, process_errors, flag_errors, param_errors]


def _interpolate(template: str, values: dict) -> str:
    def lookup(match: re.Match) -> str:
        value: object = values
        for part in match.group(1).split("."):
            value = value[part] if isinstance(value, dict) else getattr(value, part)
        return "" if value is None else str(value)
    return re.sub(r"\$\{([\w.]+)\}", lookup, template)


def _truthy(value: object) -> bool:
    return value not in (None, "", [], 0, False)


def render_command(root: Path, process: str, values: dict) -> list[str]:
    """The argv a task of `process` runs, from its module's script line and its ext options.

    `values` holds the task's inputs by name, `meta` and `params`. Supports exactly the forms the
    modules use: `${a.b}` interpolation and `def x = cond ? "..." : ''`.
    """
    command, template, defs = module_script(module_of(root, process))
    local = dict(values)
    for name, expr in defs.items():
        conditional = re.fullmatch(r"([\w.]+) \? \"(.*)\" : ''", expr.strip())
        if name == "args" or not conditional:
            continue
        try:
            cond = _interpolate("${" + conditional.group(1) + "}", local)
        except KeyError:  # Groovy: a missing map key is null, so the condition is false
            cond = ""
        local[name] = _interpolate(conditional.group(2), local) if _truthy(cond) else ""
    for key, ext_template in ext_options(root).get(process, {}).items():
        local[key] = _interpolate(ext_template, local)
    local.setdefault("args", "")
    local.setdefault("launch_args", "")
    return ["dnalm", command] + shlex.split(_interpolate(" ".join(shlex.quote(t) if "$" not in t else t
                                                                     for t in template), local))


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
    return float(text) if "." in text else int(text)


def publish_dir(root: Path, process: str, params: dict) -> str | None:
    """The publishDir path of a process in conf/modules.config, rendered with `params` (None: not published)."""
    text = (root / "conf" / "modules.config").read_text()
    bodies = {name: body for names, body in re.findall(r"withName:\s*'([A-Z0-9_|]+)'\s*\{(.*?)\n    \}", text, re.S)
              for name in names.split("|") if "publishDir" in body}
    body = bodies[process]
    if re.search(r"publishDir\s*=\s*\[enabled:\s*false\]", body):
        return None
    template = re.search(r'publishDir\s*=\s*\[path:\s*\{\s*"(.*?)"\s*\}', body).group(1)
    return _interpolate(template, {"params": params})
