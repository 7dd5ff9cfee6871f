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

// 'kind:k[:stride]' -> the meta of a k-mer vocabulary; ids follow dnalm's vocabulary names
def kmerMeta(spec) {
    def fields = spec.tokenize(':')
    def kind = fields[0]
    def k = fields[1].toInteger()
    def stride = fields.size() > 2 ? fields[2].toInteger() : null
    def id = kind == 'kmer' ? "kmer${k}" : (kind == 'kmer-overlap' ? "kmer${k}_overlap" : "kmer${k}_stride${stride}")
    return [id: safeId(id, "k-mer vocabulary '${spec}'"), kind: kind, k: k, stride: stride]
}

// An external model: a local directory (staged into the task) or a HuggingFace hub id (downloaded there)
def externalModel(ref, trust_remote_code) {
    def local = file(ref)
    return local.exists()
        ? [[id: safeId(local.name, "model ${ref}"), trust_remote_code: trust_remote_code], local]
        : [[id: safeId(ref.replace('/', '_'), "model ${ref}"), hub_id: ref, trust_remote_code: trust_remote_code], []]
}

// The id of an imported task: its folder (or file) name with the folder above it, so GUE's tf/0 and
// mouse/0 stay apart (tf_0, mouse_0)
def importedTaskId(source) {
    def name = source.name.replaceAll(/(?i)\.(fa|fasta|fna|csv|tsv|parquet)(\.gz)?$/, '')
    def parent = source.parent?.name
    return safeId(parent ? "${parent}_${name}" : name, "--finetune_tasks ${source}")
}

// The file inside a prepare-annotation output directory
def trackFile(meta, dir) {
    return dir.resolve(meta.format == 'jaspar' ? "${meta.id}.jaspar" : "${meta.id}.bed")
}

// MultiQC custom content (JSON is YAML) with the run's command line, profile, revision and start time
def workflowSummary(wf) {
    def rows = [
        'Command line': wf.commandLine, 'Profile': wf.profile, 'Revision': wf.revision ?: wf.commitId ?: 'local',
        'Container engine': wf.containerEngine ?: 'none', 'Launch directory': wf.launchDir.toString(),
        'Work directory': wf.workDir.toString(), 'Started': wf.start.toString(), 'Nextflow': wf.nextflow.version.toString()
    ]
    def escape = { v -> v.toString().replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;').replace('"', '&quot;') }
    def html = '<dl class="dl-horizontal">' + rows.collect { k, v -> "<dt>${k}</dt><dd><samp>${escape(v)}</samp></dd>" }.join('') + '</dl>'
    return groovy.json.JsonOutput.toJson([id: 'dnalm_workflow_summary', section_name: 'Workflow summary',
                                          description: 'How this run was started (filled by Nextflow).',
                                          plot_type: 'html', data: html])
}
