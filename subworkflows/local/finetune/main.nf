/*
 * FINETUNE: genome biology tasks built from the annotation (Prom300 and PromScan from the first `tss` track,
 * CTCF binding from the `motif` and `ctcf_peaks` tracks) and imported benchmarks (GUE folders, NT FASTA);
 * every task fine-tunes the selected model and any model listed, next to TF-IDF and one-hot CNN baselines
 * and each model's frozen-embedding probe; one report.
 */

include { DNALM_TASK_PROM300                          } from '../../../modules/local/dnalm/task_prom300'
include { DNALM_TASK_PROMSCAN                         } from '../../../modules/local/dnalm/task_promscan'
include { DNALM_TASK_CTCF                             } from '../../../modules/local/dnalm/task_ctcf'
include { DNALM_TASK_IMPORT                           } from '../../../modules/local/dnalm/task_import'
include { DNALM_FINETUNE                              } from '../../../modules/local/dnalm/finetune'
include { DNALM_TFIDF_BASELINE as DNALM_TFIDF_TASK    } from '../../../modules/local/dnalm/tfidf_baseline'
include { DNALM_CNN_BASELINE                          } from '../../../modules/local/dnalm/cnn_baseline'
include { DNALM_EMBEDDING_PROBE                       } from '../../../modules/local/dnalm/embedding_probe'
include { DNALM_FINETUNE_REPORT                       } from '../../../modules/local/dnalm/finetune_report'
include { externalModel; importedTaskId; firstTrack  } from '../utils_dnalm_pipeline'

workflow FINETUNE {
    take:
    ch_genome           // channel: [ meta, genome_dir ]
    ch_annotations      // channel: [ meta (id, format, role), track file ]
    ch_selected         // channel: [ meta, model_dir ] of the vocabulary selected by NEXTKMER
    extra_models        // string: comma-separated model directories or hub ids, '' for none
    trust_remote_code   // boolean: allow external models' own code
    external_tasks      // string: comma-separated GUE-style folders or NT-style FASTA files, '' for none
    ch_tfidf_vocabs     // channel: [ meta (id, kind, k, stride), vocab_dir ] of the TF-IDF baselines
    keep_classifiers    // boolean: keep the selected model's classifiers (for VARIANT_EFFECTS)
    cnn_baseline        // boolean: train the one-hot CNN baseline on every task
    embedding_probe     // boolean: probe each model's frozen embeddings on every task

    main:
    ch_genome_dir = ch_genome.map { _meta, dir -> dir }
    ch_tss = firstTrack(ch_annotations, 'tss')

    // Prom300 negatives shuffle the tokens of the selected model's vocabulary (GROVER)
    DNALM_TASK_PROM300(
        ch_genome_dir.combine(ch_tss).combine(ch_selected.map { _meta, dir -> dir })
            .map { genome, tss, vocab -> [[id: 'prom300'], genome, tss, vocab] }
    )
    DNALM_TASK_PROMSCAN(ch_genome_dir.combine(ch_tss).map { genome, tss -> [[id: 'promscan'], genome, tss] })
    DNALM_TASK_CTCF(
        ch_genome_dir.combine(firstTrack(ch_annotations, 'motif')).combine(firstTrack(ch_annotations, 'ctcf_peaks'))
            .map { genome, motif, peaks -> [[id: 'ctcf'], genome, motif, peaks] }
    )
    DNALM_TASK_IMPORT(
        channel.fromList(external_tasks.tokenize(',').collect { source -> file(source.trim(), checkIfExists: true) })
            .map { source -> [[id: importedTaskId(source)], source] }
    )
    ch_tasks = DNALM_TASK_PROM300.out.task
        .mix(DNALM_TASK_PROMSCAN.out.task, DNALM_TASK_CTCF.out.task, DNALM_TASK_IMPORT.out.task)

    // the selected model's classifiers are kept (finetune --save-model) where VARIANT_EFFECTS reads them
    ch_models = ch_selected
        .map { meta, dir -> [[id: meta.id] + (keep_classifiers ? [save_model: true] : [:]), dir] }
        .mix(channel.fromList(extra_models.tokenize(',').collect { ref -> externalModel(ref.trim(), trust_remote_code) }))
    ch_model_tasks = ch_models.combine(ch_tasks).map { meta, model, task_meta, task -> [meta + [task: task_meta.id], model, task] }
    DNALM_FINETUNE(ch_model_tasks)
    DNALM_EMBEDDING_PROBE(ch_model_tasks.filter { _meta, _model, _task -> embedding_probe })

    DNALM_TFIDF_TASK(
        ch_tfidf_vocabs.combine(ch_tasks)
            .map { meta, vocab, task_meta, task -> [meta + [task: task_meta.id], vocab, task] }
    )

    DNALM_CNN_BASELINE(
        ch_tasks.filter { _meta, _dir -> cnn_baseline }.map { meta, task -> [[id: 'cnn_onehot', task: meta.id], task] }
    )

    ch_results = DNALM_FINETUNE.out.results
        .mix(DNALM_TFIDF_TASK.out.results, DNALM_CNN_BASELINE.out.results, DNALM_EMBEDDING_PROBE.out.results)
        .map { _meta, dir -> dir }
        .collect(sort: true)
        .map { dirs -> [dirs] }
    DNALM_FINETUNE_REPORT(ch_genome.map { meta, _dir -> meta }.combine(ch_results))

    // each kept classifier beside its task's folder
    ch_classifiers = DNALM_FINETUNE.out.results
        .filter { meta, _dir -> meta.save_model }
        .map { meta, dir -> [meta.task, meta, dir] }
        .combine(ch_tasks.map { meta, dir -> [meta.id, dir] }, by: 0)
        .map { _task, meta, dir, task_dir -> [meta, dir, task_dir] }

    emit:
    tasks   = ch_tasks                                  // channel: [ meta, task_dir ]
    classifiers = ch_classifiers                        // channel: [ meta (id, task), finetuned_dir, task_dir ]
    results = DNALM_FINETUNE.out.results                // channel: [ meta, results_dir ]
    report  = DNALM_FINETUNE_REPORT.out.report          // channel: [ meta, report_dir ]
    mqc     = DNALM_FINETUNE_REPORT.out.mqc
}
