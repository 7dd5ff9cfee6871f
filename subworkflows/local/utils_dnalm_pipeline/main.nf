/*
 * Functions the pipeline's workflows share (nf-core's utils_<pipeline>_pipeline layout). Every value that
 * names an output or reaches a task's command line goes through safeId, so no sheet field, file name or
 * hub id can break (or inject into) a shell line.
 */

// A meta.id (genome, vocabulary, track, task, model): letters, digits, '_', '.' and '-', starting with a
// letter or digit; anything else stops the run naming `what`
def safeId(id, what) {
    def text = id?.toString()
    if (!(text ==~ /[A-Za-z0-9][A-Za-z0-9_.-]*/)) {
        error("${what}: '${text}' cannot name outputs; use letters, digits, '_', '.' or '-' (starting with a letter or digit)")
    }
    return text
}

// The genome id of a FASTA file name: the name without .fa/.fasta/.fna/.fas and .gz; `dnalm prepare-genome`
// uses the same rule (dnalm.genome.prepare.genome_id_from_name) when no --genome-id is given
def genomeId(name) {
    return safeId(name.replaceAll(/(?i)\.(fa|fasta|fna|fas)(\.gz)?$|\.gz$/, ''), "--fasta ${name}")
}

// The named genome's entry in conf/genomes.config
def namedGenome(name, genomes) {
    if (!genomes.containsKey(name)) {
        error("--genome '${name}' is not in conf/genomes.config; known genomes: ${genomes.keySet().sort().join(', ')}")
    }
    return genomes[name]
}

// One row of the --annotations sheet, as nf-schema's samplesheetToList returns it (checked against
// assets/schema_annotations.json): [meta (id, format, role), path]; relative paths are read from the
// sheet's folder
def annotationTrack(meta, path, sheet) {
    def text = path.toString()  // nf-schema types CSV cells: a path named like a number arrives as one
    def location = text.contains('://') || text.startsWith('/') ? text : "${sheet.parent}/${text}"
    return [meta + [id: safeId(meta.id, "--annotations ${sheet}: name")], file(location, checkIfExists: true)]
}

// The named genome's annotation tracks (conf/genomes.config): [meta (id, format, role), file] for each role it
// lists; motifs are JASPAR, the rest BED. Roles and formats are dnalm.genome.annotations' ROLES and FORMATS
// (tests/test_groovy_helpers.py runs this on every configured genome and checks them against the package)
def namedTracks(named) {
    return ['repeats', 'genes', 'tss', 'cpg', 'ctcf_peaks', 'chromhmm', 'motif']
        .findAll { role -> named[role] }
        .collect { role -> [[id: safeId(role, 'track role'), format: role == 'motif' ? 'jaspar' : 'bed', role: role], file(named[role], checkIfExists: true)] }
}

// The track of a role in a channel of [meta (id, format, role), track], as a file: of several, the first by
// id, whatever order their tasks finish in (`.first()` would take the first to finish, so the tasks built on
// it would differ between runs and -resume would rerun them); nothing where the role has no track
def firstTrack(ch_tracks, role) {
    return ch_tracks
        .filter { meta, _track -> meta.role == role }
        .collect(flat: false, sort: { a, b -> a[0].id <=> b[0].id })
        .map { tracks ->
            if (tracks.size() > 1) {
                log.warn("${tracks.size()} '${role}' tracks: the tasks use '${tracks[0][0].id}', the first by name")
            }
            tracks[0][1]
        }
}

// --pretrain_deepspeed as a file to stage ([] for a name dnalm knows: dnalm.cli.pretrain.DEEPSPEED_NAMES, tied by
// tests/test_groovy_helpers.py): staged, a config file is part of the task's hash and inside its container (the
// multi-node task copies it into its work directory, which the containers on every node see)
def deepspeedFile(value) {
    def text = value?.toString() ?: ''
    return text in ['', 'auto', 'zero2'] ? [] : file(text, checkIfExists: true)
}

// 'kind:k[:stride]' -> the flags of `dnalm kmer-vocab`; the vocabulary's id is the name of the directory
// that dnalm names (see namedByDir)
def kmerSpec(spec) {
    def fields = spec.trim().tokenize(':')
    return [kind: fields[0], k: fields[1].toInteger(), stride: fields.size() > 2 ? fields[2].toInteger() : null]
}

// [meta, dir] of a step that named its own output (BPE and k-mer vocabularies): meta.id is the directory's name
def namedByDir(meta, dir, what) {
    return [meta + [id: safeId(dir.name, what)], dir]
}

// An external model: a local directory (staged into the task) or a HuggingFace hub id (downloaded there). Its
// id names the tasks' outputs before any task runs, so it is decided here and passed on as --model-id; the
// rule is dnalm.cli.options.model_name's (the directory's name, its parent's for `<name>/model`, or the hub
// id with '/' as '_'), and tests/test_groovy_helpers.py runs both on the same references
def externalModel(ref, trust_remote_code) {
    def local = file(ref)
    if (!local.exists()) {
        return [[id: safeId(ref.replace('/', '_'), "model ${ref}"), hub_id: ref, trust_remote_code: trust_remote_code], []]
    }
    def name = local.name == 'model' && local.parent ? local.parent.name : local.name
    return [[id: safeId(name, "model ${ref}"), trust_remote_code: trust_remote_code], local]
}

// The id of an imported task: its folder (or file) name with the folder above it, so GUE's tf/0 and
// mouse/0 stay apart (tf_0, mouse_0)
def importedTaskId(source) {
    def name = source.name.replaceAll(/(?i)\.(fa|fasta|fna|csv|tsv|parquet)(\.gz)?$/, '')
    def parent = source.parent?.name
    return safeId(parent ? "${parent}_${name}" : name, "--finetune_tasks ${source}")
}

// MultiQC custom content (JSON is YAML) with the run's command line, profile, revision and start time
def workflowSummary(wf) {
    def rows = [
        'Command line': wf.commandLine, 'Profile': wf.profile, 'Revision': wf.revision ?: wf.commitId ?: 'local',
        'Container engine': wf.containerEngine ?: 'none', 'Launch directory': wf.launchDir.toString(),
        'Work directory': wf.workDir.toString(), 'Started': wf.start.toString(), 'Nextflow': wf.nextflow.version.toString()
    ]
    def html = '<dl class="dl-horizontal">' + rows.collect { k, v -> "<dt>${k}</dt><dd><samp>${htmlEscape(v)}</samp></dd>" }.join('') + '</dl>'
    return groovy.json.JsonOutput.toJson([id: 'dnalm_workflow_summary', section_name: 'Workflow summary',
                                          description: 'How this run was started (filled by Nextflow).',
                                          plot_type: 'html', data: html])
}

// Text as HTML shows it (a command line holds '<', '>' and '&'). A function, not a closure variable: the
// strict syntax parser resolves a call `name(...)` only against functions (docs/architecture.md, engine fact 26)
def htmlEscape(value) {
    return value.toString().replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;').replace('"', '&quot;')
}

// The run's last line: where the results are, or how to go on
def logCompletion() {
    log.info(workflow.success
        ? "dnalm finished: results in ${params.outdir}"
        : "dnalm failed: fix the error above and rerun with -resume to continue where it stopped")
}
