/**
 * What a run published, for snapshots: `step/name` for each entry of each step folder of the outdir.
 * pipeline_info is left out (its file names carry the start time), and the selected model's name reads
 * <selected> in the steps that run on it, so a snapshot holds whichever vocabulary wins a close selection.
 * nf-test puts this folder on the tests' classpath (lib/ beside the test file).
 */
class Published {
    static final List<String> ON_THE_SELECTED_MODEL = ['embeddings', 'finetune', 'variant_effects']

    static List<String> of(String outdir, String selected) {
        def steps = new File(outdir).listFiles().findAll { step -> step.name != 'pipeline_info' }
        return steps.collectMany { step ->
            if( !step.isDirectory() )
                return [step.name]
            step.list().collect { name ->
                def shown = step.name in ON_THE_SELECTED_MODEL ? name.replace(selected, '<selected>') : name
                "${step.name}/${shown}".toString()
            }
        }.sort()
    }
}
