// Evaluates Groovy expressions against the pipeline's helper functions (a .nf file of plain `def`s), with
// Nextflow's `error` and `file` stood in for: prints one JSON object per expression, {"value": ...} or
// {"error": message}. Used by tests/test_groovy_helpers.py; Nextflow itself runs Groovy 4, this Groovy 2.4+.
import groovy.json.JsonOutput
import java.nio.file.Files
import java.nio.file.Path

Path.metaClass.getName = { -> delegate.fileName.toString() }
Path.metaClass.exists = { -> Files.exists(delegate) }

def prelude = '''
class NextflowError extends RuntimeException { NextflowError(String message) { super(message) } }
def error(message) { throw new NextflowError(message.toString()) }
def file(path, Map options = [:]) {
    def p = java.nio.file.Paths.get(path.toString())
    if (options.checkIfExists && !java.nio.file.Files.exists(p)) { error("No such file: ${path}") }
    return p
}
def file(Map options, path) { file(path, options) }  // file(path, checkIfExists: true): named arguments come first
'''
def plain
plain = { v -> v instanceof Path ? v.toString() : (v instanceof Map ? v.collectEntries { k, x -> [k, plain(x)] } :
                                                 (v instanceof List ? v.collect { x -> plain(x) } : v)) }
def shell = new GroovyShell()
def helpers = new File(args[0]).text
args.drop(1).each { expression ->
    def script = shell.parse(prelude + helpers + '\n' + expression)
    try {
        def value = script.run()
        println JsonOutput.toJson([value: plain(value)])
    } catch (Throwable e) {
        println JsonOutput.toJson([error: e.message])
    }
}
