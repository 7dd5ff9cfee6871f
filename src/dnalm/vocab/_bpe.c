/*
 * dnalm._bpe: byte-pair encoding of DNA at genome scale.
 *
 * train():  learns merges exactly as HuggingFace's BpeTrainer does (same counts, same tie-break:
 *           highest count, then the smallest (left id, right id); same left-to-right merging inside a
 *           chunk), with 2 bytes per base for the sequence instead of HF's per-word objects.
 * encode(): encodes a whole N-free run exactly as HuggingFace's BPE model does, in linear time.
 *
 * Why this is exact (see docs/performance.md): in HF, a merge at rank r only creates pairs with the new
 * token, whose merges have ranks above r, so HF's priority queue applies merges rank by rank. Within one
 * rank, occurrences of a pair (a, b) with a != b cannot overlap, so their order does not matter; only
 * pairs (a, a) are processed left to right, as HF does. Vocabularies where two merges produce the same
 * string break this argument; the Python caller detects them and uses HF's encoder instead.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------------ */
/* Training: a hash map from a pair (a << 16 | b) to its count and its chunk list.                   */

typedef struct {
    uint32_t key;      /* 0xFFFFFFFF = empty */
    uint32_t count;
    int32_t list;      /* index of the pair's chunk list, -1 before one is needed */
} PairSlot;

typedef struct {
    PairSlot *slots;
    size_t cap, used;
} PairMap;

#define EMPTY_KEY 0xFFFFFFFFu

static inline size_t hash32(uint32_t k) {
    uint64_t h = (uint64_t)k * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 29);
}

static int pairmap_init(PairMap *m, size_t cap) {
    m->cap = cap;
    m->used = 0;
    m->slots = malloc(cap * sizeof(PairSlot));
    if (!m->slots) return -1;
    for (size_t i = 0; i < cap; i++) m->slots[i].key = EMPTY_KEY;
    return 0;
}

static PairSlot *pairmap_find(PairMap *m, uint32_t key) {
    size_t mask = m->cap - 1, i = hash32(key) & mask;
    while (m->slots[i].key != EMPTY_KEY) {
        if (m->slots[i].key == key) return &m->slots[i];
        i = (i + 1) & mask;
    }
    return NULL;
}

static int pairmap_grow(PairMap *m) {
    PairMap bigger;
    if (pairmap_init(&bigger, m->cap * 2) < 0) return -1;
    size_t mask = bigger.cap - 1;
    for (size_t j = 0; j < m->cap; j++) {
        if (m->slots[j].key == EMPTY_KEY) continue;
        size_t i = hash32(m->slots[j].key) & mask;
        while (bigger.slots[i].key != EMPTY_KEY) i = (i + 1) & mask;
        bigger.slots[i] = m->slots[j];
    }
    bigger.used = m->used;
    free(m->slots);
    *m = bigger;
    return 0;
}

/* The slot of `key`, inserted with count 0 if absent; NULL when out of memory. */
static PairSlot *pairmap_get(PairMap *m, uint32_t key) {
    if ((m->used + 1) * 10 > m->cap * 7 && pairmap_grow(m) < 0) return NULL;
    size_t mask = m->cap - 1, i = hash32(key) & mask;
    while (m->slots[i].key != EMPTY_KEY) {
        if (m->slots[i].key == key) return &m->slots[i];
        i = (i + 1) & mask;
    }
    m->slots[i].key = key;
    m->slots[i].count = 0;
    m->slots[i].list = -1;
    m->used++;
    return &m->slots[i];
}

/* ------------------------------------------------------------------------------------------------ */
/* The merge queue: a max-heap on (count, then the smallest pair), HF's order, packed in one integer:
 * count in the high 32 bits, the bitwise complement of the pair (a << 16 | b) in the low 32. */

typedef struct {
    uint64_t *e;
    size_t n, cap;
} Heap;

static inline uint64_t entry(uint32_t count, uint32_t key) { return (uint64_t)count << 32 | (uint32_t)~key; }
static inline uint32_t entry_count(uint64_t e) { return (uint32_t)(e >> 32); }
static inline uint32_t entry_key(uint64_t e) { return ~(uint32_t)e; }

static int heap_push(Heap *h, uint64_t x) {
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap + h->cap / 2 : 1024;
        uint64_t *e = realloc(h->e, cap * sizeof(uint64_t));
        if (!e) return -1;
        h->e = e;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->e[parent] >= x) break;
        h->e[i] = h->e[parent];
        i = parent;
    }
    h->e[i] = x;
    return 0;
}

static uint64_t heap_pop(Heap *h) {
    uint64_t top = h->e[0], last = h->e[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, best = i;
        uint64_t b = last;
        if (l < h->n && h->e[l] > b) { best = l; b = h->e[l]; }
        if (r < h->n && h->e[r] > b) { best = r; }
        if (best == i) break;
        h->e[i] = h->e[best];
        i = best;
    }
    if (h->n) h->e[i] = last;
    return top;
}

/* ------------------------------------------------------------------------------------------------ */
/* Token strings, to give a merge that re-creates an existing string that token's id, as HF does.    */

typedef struct {
    char **str;
    size_t *len;
    size_t n, cap;
} Strings;

static int strings_add(Strings *s, const char *a, size_t la, const char *b, size_t lb) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        char **str = realloc(s->str, cap * sizeof(char *));
        if (!str) return -1;
        s->str = str;
        size_t *len = realloc(s->len, cap * sizeof(size_t));
        if (!len) return -1;
        s->len = len;
        s->cap = cap;
    }
    char *x = malloc(la + lb + 1);
    if (!x) return -1;
    memcpy(x, a, la);
    memcpy(x + la, b, lb);
    x[la + lb] = 0;
    s->str[s->n] = x;
    s->len[s->n] = la + lb;
    s->n++;
    return 0;
}

static long strings_find(const Strings *s, const char *a, size_t la, const char *b, size_t lb) {
    for (size_t i = 0; i < s->n; i++)
        if (s->len[i] == la + lb && !memcmp(s->str[i], a, la) && !memcmp(s->str[i] + la, b, lb))
            return (long)i;
    return -1;
}

static void strings_free(Strings *s) {
    for (size_t i = 0; i < s->n; i++) free(s->str[i]);
    free(s->str);
    free(s->len);
}

/* ------------------------------------------------------------------------------------------------ */
/* train(symbols, starts, lengths, alphabet, n_merges) -> list of (left, right, new) ids             */

/* The chunks where a pair was formed: HF's `where_to_update`, as ascending chunk indices. Most pairs are
 * rare, so up to two chunks are stored inline (cap == 0). */
typedef struct {
    int32_t n, cap;
    int32_t step;          /* the last merge step that changed the pair's count */
    int32_t delta;         /* the net change of the count in that step */
    union {
        int32_t *v;
        int32_t in[2];
    } at;
} ChunkList;

static inline int32_t *list_items(ChunkList *l) { return l->cap ? l->at.v : l->at.in; }

typedef struct {
    PairMap pairs;
    ChunkList *lists;
    size_t n_lists, cap_lists;
    uint32_t *touched;     /* pairs whose count changed in this merge step */
    size_t n_touched, cap_touched;
    int step;
    int32_t chunk;         /* the chunk being merged */
} Changes;

/* Note that the pair gained an occurrence in the current chunk; NULL when out of memory. */
static ChunkList *list_append(Changes *c, PairSlot *s) {
    if (s->list < 0) {
        if (c->n_lists == c->cap_lists) {
            size_t cap = c->cap_lists ? c->cap_lists + c->cap_lists / 2 : 1024;
            ChunkList *l = realloc(c->lists, cap * sizeof(ChunkList));
            if (!l) return NULL;
            c->lists = l;
            c->cap_lists = cap;
        }
        c->lists[c->n_lists] = (ChunkList){.n = 0, .cap = 0, .step = -1};
        s->list = (int32_t)c->n_lists++;
    }
    ChunkList *l = &c->lists[s->list];
    if (l->n && list_items(l)[l->n - 1] == c->chunk) return l;
    if (l->cap == 0 && l->n == 2) {
        int32_t *v = malloc(4 * sizeof(int32_t));
        if (!v) return NULL;
        v[0] = l->at.in[0];
        v[1] = l->at.in[1];
        l->at.v = v;
        l->cap = 4;
    } else if (l->cap && l->n == l->cap) {
        int32_t cap = l->cap + l->cap / 2 + 4;
        int32_t *v = realloc(l->at.v, (size_t)cap * sizeof(int32_t));
        if (!v) return NULL;
        l->at.v = v;
        l->cap = cap;
    }
    list_items(l)[l->n++] = c->chunk;
    return l;
}

static void list_free(ChunkList *l) {
    if (l->cap) free(l->at.v);
    *l = (ChunkList){.n = 0, .cap = 0, .step = l->step, .delta = l->delta};
}

static int change(Changes *c, uint32_t a, uint32_t b, int delta) {
    PairSlot *s = pairmap_get(&c->pairs, a << 16 | b);
    if (!s) return -1;
    ChunkList *l;
    if (delta < 0) {
        s->count -= 1;
        l = &c->lists[s->list];    /* a pair loses an occurrence only after gaining one: its list exists */
    } else {
        if (s->count == UINT32_MAX) return -2;
        s->count += 1;
        if (!(l = list_append(c, s))) return -1;
    }
    if (l->step != c->step) {
        l->step = c->step;
        l->delta = 0;
        if (c->n_touched == c->cap_touched) {
            size_t cap = c->cap_touched ? c->cap_touched * 2 : 1024;
            uint32_t *t = realloc(c->touched, cap * sizeof(uint32_t));
            if (!t) return -1;
            c->touched = t;
            c->cap_touched = cap;
        }
        c->touched[c->n_touched++] = a << 16 | b;
    }
    l->delta += delta;
    if (delta < 0 && s->count == 0) list_free(l);  /* gone from every chunk */
    return 0;
}

/* Index of the first occurrence of the pair (a, b) in s[0..n), or -1. Blocks of 32 are tested with a
 * branch-free loop the compiler vectorizes (with AVX2 where the CPU has it): most of what a merge scans
 * does not hold the pair. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static int32_t find_pair(const uint16_t *s, int32_t n, uint16_t a, uint16_t b) {
    int32_t i = 0;
    for (; i + 33 <= n; i += 32) {
        int hit = 0;
        for (int j = 0; j < 32; j++) hit |= (s[i + j] == a) & (s[i + j + 1] == b);
        if (hit) break;
    }
    for (; i + 1 < n; i++)
        if (s[i] == a && s[i + 1] == b) return i;
    return -1;
}

/* A barrier for the few threads of one training or encoding: they meet after every merge or rank, so it
 * spins (yielding now and then) instead of sleeping in the kernel. */
typedef struct {
    atomic_int count, sense;
    int n;
} SpinBarrier;

static void barrier_wait(SpinBarrier *b, int *local_sense) {
    *local_sense = !*local_sense;
    if (atomic_fetch_add(&b->count, 1) == b->n - 1) {
        atomic_store(&b->count, 0);
        atomic_store(&b->sense, *local_sense);
    } else {
        for (int spins = 0; atomic_load(&b->sense) != *local_sense;)
            if (++spins > 2000) { sched_yield(); spins = 0; }
    }
}

/* Training is split by chunks into shards, one per thread. A shard owns its chunks and a pair map of
 * their counts and chunk lists; a pair's count is the sum over the shards. For each merge, thread 0 picks
 * the top pair from the heap, every thread merges it in its own chunks, and thread 0 then queues the pairs
 * whose count, summed over the shards, rose. The counts, and so the merges, are those of one thread: the
 * shards only divide the scanning and rewriting. */
typedef struct {
    Changes ch;
    int32_t c0, c1;        /* the chunks [c0, c1) */
    int failed;
} Shard;

typedef struct {
    uint16_t *sym;
    const int64_t *start;
    int32_t *len;
    Shard shards[64];
    int n_shards;
    SpinBarrier barrier;
    atomic_int go;         /* 1: workers start, -1: a thread could not be started, workers return */
    uint32_t a, b, new_id; /* the merge of this step */
    int32_t step;
    int stop;
} Training;

typedef struct {
    Training *tr;
    int t;
} TrainWorker;

/* Count the pairs of the shard's chunks (every pair is touched, with its count as its delta). */
static void shard_count(Training *tr, Shard *sh) {
    Changes *ch = &sh->ch;
    if (pairmap_init(&ch->pairs, 1 << 16) < 0) { sh->failed = -1; return; }
    ch->step = -2;                    /* new pair slots start at step -1: every initial pair is touched */
    for (int32_t c = sh->c0; c < sh->c1 && !sh->failed; c++) {
        const uint16_t *s = tr->sym + tr->start[c];
        ch->chunk = c;
        for (int32_t i = 0; i + 1 < tr->len[c]; i++)
            if ((sh->failed = change(ch, s[i], s[i + 1], 1))) break;
    }
}

/* Apply this step's merge in every chunk of the shard where the pair was formed, left to right (HF's
 * Word::merge). The list is detached first: merging may append to other lists and move the array. */
static void shard_merge(Training *tr, Shard *sh) {
    Changes *ch = &sh->ch;
    uint32_t a = tr->a, b = tr->b, new_id = tr->new_id;
    ch->step = tr->step;
    PairSlot *p = pairmap_find(&ch->pairs, a << 16 | b);
    if (!p || p->list < 0) return;
    ChunkList where = ch->lists[p->list];
    ch->lists[p->list] = (ChunkList){.n = 0, .cap = 0, .step = where.step, .delta = where.delta};
    const int32_t *chunks = list_items(&where);
    int failed = 0;
    for (int32_t k = 0; k < where.n && !failed; k++) {
        int32_t c = chunks[k];
        if (k + 1 < where.n) __builtin_prefetch(tr->sym + tr->start[chunks[k + 1]]);
        uint16_t *s = tr->sym + tr->start[c];
        int32_t n = tr->len[c], i = find_pair(s, n, (uint16_t)a, (uint16_t)b), out = i;
        if (i < 0) continue;
        ch->chunk = c;
        while (i >= 0) {           /* i: the next occurrence, s[out..i) moved down, s[i..n) unread */
            if (out > 0 && ((failed = change(ch, s[out - 1], a, -1)) ||
                            (failed = change(ch, s[out - 1], new_id, 1)))) break;
            if (i + 2 < n && ((failed = change(ch, b, s[i + 2], -1)) ||
                              (failed = change(ch, new_id, s[i + 2], 1)))) break;
            s[out++] = (uint16_t)new_id;
            i += 2;
            int32_t next = find_pair(s + i, n - i, (uint16_t)a, (uint16_t)b);
            int32_t gap = next < 0 ? n - i : next;
            memmove(s + out, s + i, (size_t)gap * sizeof(uint16_t));
            out += gap;
            i = next < 0 ? -1 : i + gap;
        }
        tr->len[c] = out;
    }
    list_free(&where);
    for (size_t i = 0; i < ch->n_touched; i++) {     /* trim the lists this step grew */
        ChunkList *l = &ch->lists[pairmap_find(&ch->pairs, ch->touched[i])->list];
        if (l->cap > l->n + 4) {
            int32_t *v = realloc(l->at.v, (size_t)l->n * sizeof(int32_t));
            if (v) { l->at.v = v; l->cap = l->n; }
        }
    }
    sh->failed = failed;
}

static void *train_worker(void *arg) {
    TrainWorker *w = arg;
    Training *tr = w->tr;
    Shard *sh = &tr->shards[w->t];
    int sense = 0;
    while (atomic_load(&tr->go) == 0) sched_yield();
    if (atomic_load(&tr->go) < 0) return NULL;
    shard_count(tr, sh);
    barrier_wait(&tr->barrier, &sense);       /* counted */
    for (;;) {
        barrier_wait(&tr->barrier, &sense);   /* the merge is chosen */
        if (tr->stop) break;
        if (!sh->failed) shard_merge(tr, sh);
        barrier_wait(&tr->barrier, &sense);   /* merged */
    }
    return NULL;
}

/* The count of a pair over all shards (the shards' maps are the only counts: no global map to keep). */
static uint64_t global_count(Training *tr, uint32_t key) {
    uint64_t count = 0;
    for (int t = 0; t < tr->n_shards; t++) {
        PairSlot *s = pairmap_find(&tr->shards[t].ch.pairs, key);
        if (s) count += s->count;
    }
    return count;
}

/* Queue every pair whose count over all shards rose in this step (a pair whose count fell keeps an older,
 * higher entry: popped, it is found stale and requeued, as in HF). Each pair is looked at once, in the
 * first shard that touched it. Returns 0, -1 (out of memory) or -2 (a count over 2^32 - 1). */
static int gather(Training *tr, Heap *heap) {
    for (int t = 0; t < tr->n_shards; t++) {
        Changes *ch = &tr->shards[t].ch;
        for (size_t i = 0; i < ch->n_touched; i++) {
            uint32_t key = ch->touched[i];
            uint64_t after = 0, before = 0;
            int seen = 0;
            for (int u = 0; u < tr->n_shards && !seen; u++) {
                Changes *other = &tr->shards[u].ch;
                PairSlot *s = pairmap_find(&other->pairs, key);
                if (!s) continue;              /* a slot exists only once its pair gained an occurrence */
                ChunkList *l = &other->lists[s->list];
                int now = l->step == tr->step;
                seen = u < t && now;           /* an earlier shard touched it: done there */
                after += s->count;
                before += s->count - (now ? l->delta : 0);
            }
            if (seen) continue;
            if (after > UINT32_MAX) return -2;
            if (after > before && heap_push(heap, entry((uint32_t)after, key)) < 0) return -1;
        }
        ch->n_touched = 0;
    }
    return 0;
}

/* train(symbols, starts, lengths, alphabet, n_merges, threads, done) -> list of (left, right, new) ids */
static PyObject *train(PyObject *self, PyObject *args) {
    Py_buffer sym_buf, start_buf, len_buf, done_buf = {0};
    PyObject *alphabet;
    Py_ssize_t n_merges;
    int threads = 1;
    if (!PyArg_ParseTuple(args, "w*y*w*On|iw*", &sym_buf, &start_buf, &len_buf, &alphabet, &n_merges,
                          &threads, &done_buf))
        return NULL;
    PyObject *result = NULL;
    Training *tr = calloc(1, sizeof(Training));
    Py_ssize_t n_chunks = len_buf.len / (Py_ssize_t)sizeof(int32_t);
    int64_t *progress = done_buf.buf && done_buf.len >= (Py_ssize_t)sizeof(int64_t) ? done_buf.buf : NULL;
    Strings strings = {0};
    Heap heap = {0};
    int32_t (*merges)[3] = NULL;
    Py_ssize_t done = 0;
    int failed = 0, started = 0, sense = 0;
    pthread_t tids[64];
    TrainWorker workers[64];

    if (!tr) goto nomem;
    Py_ssize_t n_alpha = PyList_Size(alphabet);
    if (n_alpha < 0) goto out;
    if (n_alpha + n_merges >= 0xFFFF || n_chunks >= INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "too many merges or chunks: ids must fit in 16 and 31 bits");
        goto out;
    }
    for (Py_ssize_t i = 0; i < n_alpha; i++) {
        Py_ssize_t l;
        const char *s = PyUnicode_AsUTF8AndSize(PyList_GetItem(alphabet, i), &l);
        if (!s) goto out;
        if (strings_add(&strings, s, (size_t)l, "", 0) < 0) goto nomem;
    }
    merges = malloc((size_t)(n_merges ? n_merges : 1) * sizeof(*merges));
    if (!merges) goto nomem;
    tr->sym = sym_buf.buf;
    tr->start = start_buf.buf;
    tr->len = len_buf.buf;
    tr->n_shards = threads < 1 ? 1 : threads > 64 ? 64 : threads;
    if (tr->n_shards > n_chunks) tr->n_shards = n_chunks ? (int)n_chunks : 1;
    int64_t total = n_chunks ? tr->start[n_chunks - 1] + tr->len[n_chunks - 1] : 0;
    for (int t = 0, c = 0; t < tr->n_shards; t++) {    /* shards of about equal bases */
        tr->shards[t].c0 = c;
        while (c < n_chunks && (t == tr->n_shards - 1 || tr->start[c] < total * (t + 1) / tr->n_shards)) c++;
        tr->shards[t].c1 = c;
    }

    Py_BEGIN_ALLOW_THREADS
    for (int t = 1; t < tr->n_shards; t++) {
        workers[t] = (TrainWorker){tr, t};
        if (pthread_create(&tids[t], NULL, train_worker, &workers[t]) != 0) break;
        started++;
    }
    if (started < tr->n_shards - 1) {                 /* fewer threads than asked: train alone */
        atomic_store(&tr->go, -1);
        for (int t = 1; t <= started; t++) pthread_join(tids[t], NULL);
        started = 0;
        tr->shards[0].c1 = (int32_t)n_chunks;
        tr->n_shards = 1;
    }
    tr->barrier.n = tr->n_shards;
    atomic_store(&tr->go, 1);
    shard_count(tr, &tr->shards[0]);
    barrier_wait(&tr->barrier, &sense);
    tr->step = -2;
    for (int t = 0; t < tr->n_shards; t++) failed |= tr->shards[t].failed;
    if (!failed) failed = gather(tr, &heap);

    for (;;) {
        tr->stop = 1;                                 /* pick the merge: the top pair by (count, ids) */
        while (!failed && done < n_merges && heap.n) {
            uint64_t top = heap_pop(&heap);
            uint32_t key = entry_key(top);
            uint32_t count = (uint32_t)global_count(tr, key);  /* gather checked it fits */
            if (entry_count(top) != count) {          /* stale: requeue with the current count (HF) */
                if (heap_push(&heap, entry(count, key)) < 0) failed = -1;
                continue;
            }
            if (count < 1) break;
            uint32_t a = key >> 16, b = key & 0xFFFF;
            long existing = strings_find(&strings, strings.str[a], strings.len[a], strings.str[b], strings.len[b]);
            uint32_t new_id = existing >= 0 ? (uint32_t)existing : (uint32_t)strings.n;
            if (existing < 0 &&
                strings_add(&strings, strings.str[a], strings.len[a], strings.str[b], strings.len[b]) < 0) {
                failed = -1;
                break;
            }
            merges[done][0] = (int32_t)a;
            merges[done][1] = (int32_t)b;
            merges[done][2] = (int32_t)new_id;
            tr->a = a;
            tr->b = b;
            tr->new_id = new_id;
            tr->step = (int32_t)done++;
            tr->stop = 0;
            break;
        }
        barrier_wait(&tr->barrier, &sense);           /* the merge is chosen */
        if (tr->stop) break;
        shard_merge(tr, &tr->shards[0]);
        barrier_wait(&tr->barrier, &sense);           /* merged */
        for (int t = 0; t < tr->n_shards; t++) failed |= tr->shards[t].failed;
        if (!failed) failed = gather(tr, &heap);
        if (progress) __atomic_store_n(progress, (int64_t)done, __ATOMIC_RELAXED);
    }
    for (int t = 1; t <= started; t++) pthread_join(tids[t], NULL);
    Py_END_ALLOW_THREADS

    if (failed == -2) {
        PyErr_SetString(PyExc_OverflowError, "a pair occurs more than 2^32 - 1 times; train on --sample-bp");
        goto out;
    }
    if (failed) goto nomem;
    result = PyList_New(done);
    if (!result) goto out;
    for (Py_ssize_t i = 0; i < done; i++) {
        PyObject *t = Py_BuildValue("(iii)", merges[i][0], merges[i][1], merges[i][2]);
        if (!t) { Py_CLEAR(result); goto out; }
        PyList_SET_ITEM(result, i, t);
    }
    goto out;
nomem:
    PyErr_NoMemory();
out:
    if (tr) {
        for (int t = 0; t < tr->n_shards; t++) {
            Changes *ch = &tr->shards[t].ch;
            for (size_t i = 0; i < ch->n_lists; i++) list_free(&ch->lists[i]);
            free(ch->lists);
            free(ch->pairs.slots);
            free(ch->touched);
        }
        free(tr);
    }
    free(merges);
    free(heap.e);
    strings_free(&strings);
    PyBuffer_Release(&sym_buf);
    PyBuffer_Release(&start_buf);
    PyBuffer_Release(&len_buf);
    if (done_buf.buf) PyBuffer_Release(&done_buf);
    return result;
}

/* ------------------------------------------------------------------------------------------------ */
/* encode(codes, merges, out) -> number of tokens written to out (uint32)                             */

typedef struct {
    int32_t *pos;
    int32_t n, cap;
} Bucket;

static inline int bucket_push(Bucket *b, int32_t p) {
    if (b->n == b->cap) {
        int32_t cap = b->cap ? b->cap * 2 : 16;
        int32_t *x = realloc(b->pos, (size_t)cap * sizeof(int32_t));
        if (!x) return -1;
        b->pos = x;
        b->cap = cap;
    }
    b->pos[b->n++] = p;
    return 0;
}

static int cmp_int32(const void *x, const void *y) {
    int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
    return (a > b) - (a < b);
}

#define DEAD 0xFFFFFFFFu

/* Merge ranks by pair: open addressing over packed (pair << 32 | rank) words, small enough for L2. */
typedef struct {
    uint64_t *slot;
    uint64_t mask;
} RankMap;

#define NO_SLOT 0xFFFFFFFFFFFFFFFFull

static int rankmap_init(RankMap *m, const int32_t (*merges)[3], int32_t n) {
    size_t cap = 1024;
    while (cap < (size_t)n * 4) cap *= 2;
    m->slot = malloc(cap * sizeof(uint64_t));
    if (!m->slot) return -1;
    m->mask = cap - 1;
    for (size_t i = 0; i < cap; i++) m->slot[i] = NO_SLOT;
    for (int32_t r = 0; r < n; r++) {       /* a pair listed twice keeps its last rank, as HF's map does */
        uint64_t key = (uint64_t)((uint32_t)merges[r][0] << 16 | (uint32_t)merges[r][1]);
        size_t i = hash32((uint32_t)key) & m->mask;
        while (m->slot[i] != NO_SLOT && m->slot[i] >> 32 != key) i = (i + 1) & m->mask;
        m->slot[i] = key << 32 | (uint32_t)r;
    }
    return 0;
}

static inline int32_t rank_of(const RankMap *m, uint32_t a, uint32_t b) {
    uint64_t key = (uint64_t)(a << 16 | b);
    size_t i = hash32((uint32_t)key) & m->mask;
    for (;;) {
        uint64_t v = m->slot[i];
        if (v == NO_SLOT) return -1;
        if (v >> 32 == key) return (int32_t)(uint32_t)v;
        i = (i + 1) & m->mask;
    }
}

/* One symbol of the sequence being encoded; the fields a merge touches share a cache line. */
typedef struct {
    uint32_t id;           /* token id, DEAD once merged into its left neighbour */
    int32_t next, prev;    /* neighbouring live symbols, -1 at the ends */
} Sym;


/* The state of one encoding, shared by its threads. Thread t owns the symbols [lo[t], hi[t]) and the
 * buckets of the positions it owns; a merge whose neighbourhood crosses into another thread's symbols
 * is deferred to the end of its rank and done by thread 0 while the others wait. */
typedef struct {
    Sym *sym;
    const int32_t (*merges)[3];
    int32_t n_merges;
    RankMap ranks;
    int threads;
    int32_t lo[64], hi[64];
    Bucket *buckets;              /* [thread][rank] */
    Bucket deferred[64];
    int32_t waiting[2][64];       /* per rank parity and thread: deferred merges, or the bucket size of a
                                   * rank (a, a); two copies, as a thread may start the next rank while
                                   * another still reads this one's */
    SpinBarrier barrier;
    atomic_int failed;
    atomic_int go;                /* 1 once every thread started, -1 if one could not be */
} Encoding;

static inline int owner(const Encoding *e, int32_t pos) {
    int t = 0;
    while (pos >= e->hi[t]) t++;
    return t;
}

static inline Bucket *bucket(Encoding *e, int t, int32_t r) { return &e->buckets[(size_t)t * e->n_merges + r]; }

/* Merge the symbols p and q (= next of p) into new_id at rank r and queue the pairs this forms in the
 * buckets of threads tb (owner of p's left neighbour) and tp (owner of p). */
static inline int merge_at(Encoding *e, int32_t r, int32_t p, int32_t q, uint32_t new_id, int tb, int tp) {
    Sym *sym = e->sym;
    int32_t after = sym[q].next, before = sym[p].prev;
    sym[p].id = new_id;
    sym[q].id = DEAD;
    sym[p].next = after;
    if (after >= 0) sym[after].prev = p;
    if (before >= 0) {
        int32_t r2 = rank_of(&e->ranks, sym[before].id, new_id);
        if (r2 > r && bucket_push(bucket(e, tb, r2), before) < 0) return -1;
    }
    if (after >= 0) {
        int32_t r3 = rank_of(&e->ranks, new_id, sym[after].id);
        if (r3 > r && bucket_push(bucket(e, tp, r3), p) < 0) return -1;
    }
    return 0;
}

/* The merge at p if the pair (a, b) is still there (positions can be stale). */
static inline int merge_if_valid(Encoding *e, int32_t r, int32_t p, uint32_t a, uint32_t b, uint32_t new_id) {
    int32_t q;
    if (e->sym[p].id != a || (q = e->sym[p].next) < 0 || e->sym[q].id != b) return 0;
    int32_t before = e->sym[p].prev;
    return merge_at(e, r, p, q, new_id, before >= 0 ? owner(e, before) : 0, owner(e, p));
}

typedef struct {
    Encoding *e;
    int t;
} Worker;

static void *encode_worker(void *arg) {
    Encoding *e = ((Worker *)arg)->e;
    int t = ((Worker *)arg)->t, sense = 0;
    Sym *sym = e->sym;
    while (atomic_load(&e->go) == 0) sched_yield();
    if (atomic_load(&e->go) < 0) return NULL;
    for (int32_t i = e->lo[t]; i < e->hi[t]; i++) {
        if (i + 1 >= e->hi[e->threads - 1]) break;
        int32_t r = rank_of(&e->ranks, sym[i].id, sym[i + 1].id);
        if (r >= 0 && bucket_push(bucket(e, t, r), i) < 0) atomic_store(&e->failed, 1);
    }
    barrier_wait(&e->barrier, &sense);
    for (int32_t r = 0; r < e->n_merges; r++) {
        uint32_t a = (uint32_t)e->merges[r][0], b = (uint32_t)e->merges[r][1], new_id = (uint32_t)e->merges[r][2];
        Bucket *bk = bucket(e, t, r);
        Bucket *later = &e->deferred[t];
        int32_t *waiting = e->waiting[r & 1];
        if (a == b) {
            waiting[t] = bk->n;      /* overlapping occurrences: thread 0 takes them all, left to right */
        } else {
            /* Occurrences of (a, b), a != b, cannot overlap: any order gives the same result. */
            const int32_t lo = e->lo[t], hi = e->hi[t];
            int failed = 0;
            for (int32_t k = 0; k < bk->n && !failed; k++) {
                if (k + 8 < bk->n) __builtin_prefetch(&sym[bk->pos[k + 8]]);
                int32_t p = bk->pos[k], q;
                if (sym[p].id != a || (q = sym[p].next) < 0) continue;
                if (q >= hi) {                        /* the pair crosses into the next range */
                    failed = bucket_push(later, p) < 0;
                    continue;
                }
                if (sym[q].id != b) continue;
                int32_t after = sym[q].next, before = sym[p].prev;
                if (after >= hi || (before >= 0 && before < lo)) {  /* a neighbour in another range */
                    failed = bucket_push(later, p) < 0;
                    continue;
                }
                failed = merge_at(e, r, p, q, new_id, t, t) < 0;
            }
            if (failed) atomic_store(&e->failed, 1);
            free(bk->pos);
            *bk = (Bucket){0};
            waiting[t] = later->n;
        }
        if (e->threads > 1) barrier_wait(&e->barrier, &sense);
        int work = 0;
        for (int u = 0; u < e->threads; u++) work |= waiting[u] > 0;
        if (!work) continue;
        if (t == 0) {
            if (a == b) {
                Bucket all = {0};
                for (int u = 0; u < e->threads; u++) {
                    Bucket *x = bucket(e, u, r);
                    for (int32_t k = 0; k < x->n; k++)
                        if (bucket_push(&all, x->pos[k]) < 0) atomic_store(&e->failed, 1);
                    free(x->pos);
                    *x = (Bucket){0};
                }
                qsort(all.pos, (size_t)all.n, sizeof(int32_t), cmp_int32);
                for (int32_t k = 0; k < all.n; k++)
                    if (merge_if_valid(e, r, all.pos[k], a, b, new_id) < 0) atomic_store(&e->failed, 1);
                free(all.pos);
            } else {
                for (int u = 0; u < e->threads; u++) {
                    for (int32_t k = 0; k < e->deferred[u].n; k++)
                        if (merge_if_valid(e, r, e->deferred[u].pos[k], a, b, new_id) < 0)
                            atomic_store(&e->failed, 1);
                    e->deferred[u].n = 0;
                }
            }
        }
        if (e->threads > 1) barrier_wait(&e->barrier, &sense);
    }
    return NULL;
}

/* encode(codes, merges, out, threads) -> number of tokens written to out (uint32) */
static PyObject *encode(PyObject *self, PyObject *args) {
    Py_buffer seq_buf, merge_buf, out_buf;
    int threads = 1;
    if (!PyArg_ParseTuple(args, "y*y*w*|i", &seq_buf, &merge_buf, &out_buf, &threads)) return NULL;
    PyObject *result = NULL;
    Encoding e = {0};
    e.merges = merge_buf.buf;
    e.n_merges = (int32_t)(merge_buf.len / (Py_ssize_t)sizeof(*e.merges));
    const uint8_t *seq = seq_buf.buf;
    int32_t n = (int32_t)seq_buf.len;
    uint32_t *out = out_buf.buf;
    int bad_base = 0, started = 0;
    Py_ssize_t written = 0;
    pthread_t tids[64];
    Worker workers[64];

    if (seq_buf.len > INT32_MAX - 1 || out_buf.len < seq_buf.len * (Py_ssize_t)sizeof(uint32_t)) {
        PyErr_SetString(PyExc_ValueError, "sequence too long, or output buffer too small");
        goto out;
    }
    /* Threads pay a barrier per rank: worth it only for long runs (1 Mbp per thread at least). */
    e.threads = threads < 1 ? 1 : threads > 64 ? 64 : threads;
    while (e.threads > 1 && n / e.threads < 1000000) e.threads--;
    for (int t = 0; t < e.threads; t++) {
        e.lo[t] = (int32_t)((int64_t)n * t / e.threads);
        e.hi[t] = (int32_t)((int64_t)n * (t + 1) / e.threads);
    }
    e.hi[e.threads - 1] = n;
    e.barrier.n = e.threads;
    e.sym = malloc((size_t)(n ? n : 1) * sizeof(Sym));
    e.buckets = calloc((size_t)e.threads * (size_t)(e.n_merges ? e.n_merges : 1), sizeof(Bucket));
    if (!e.sym || !e.buckets || rankmap_init(&e.ranks, e.merges, e.n_merges) < 0) {
        PyErr_NoMemory();
        goto out;
    }

    Py_BEGIN_ALLOW_THREADS
    for (int32_t i = 0; i < n; i++) {
        uint32_t t;
        switch (seq[i]) {   /* dnalm's vocabularies give A, C, G, T the ids 5-8 (checked by the caller) */
            case 'A': t = 5; break;
            case 'C': t = 6; break;
            case 'G': t = 7; break;
            case 'T': t = 8; break;
            default: t = DEAD; bad_base = 1;
        }
        e.sym[i] = (Sym){t, i + 1 < n ? i + 1 : -1, i - 1};
    }
    if (!bad_base && n > 1) {
        for (int t = 0; t < e.threads; t++) workers[t] = (Worker){&e, t};
        for (int t = 1; t < e.threads; t++)
            if (pthread_create(&tids[t], NULL, encode_worker, &workers[t]) == 0) started++;
            else break;
        atomic_store(&e.go, started == e.threads - 1 ? 1 : -1);
        if (started == e.threads - 1) encode_worker(&workers[0]);
        else atomic_store(&e.failed, 1);
        for (int t = 1; t <= started; t++) pthread_join(tids[t], NULL);
    }
    if (!atomic_load(&e.failed) && !bad_base)
        for (int32_t i = n ? 0 : -1; i >= 0; i = e.sym[i].next) out[written++] = e.sym[i].id;
    Py_END_ALLOW_THREADS

    if (bad_base) PyErr_SetString(PyExc_ValueError, "BPE encoding takes A/C/G/T only");
    else if (atomic_load(&e.failed)) PyErr_NoMemory();
    else result = PyLong_FromSsize_t(written);
out:
    if (e.buckets) {
        for (size_t i = 0; i < (size_t)e.threads * (size_t)e.n_merges; i++) free(e.buckets[i].pos);
        free(e.buckets);
    }
    for (int t = 0; t < 64; t++) free(e.deferred[t].pos);
    free(e.sym);
    free(e.ranks.slot);
    PyBuffer_Release(&seq_buf);
    PyBuffer_Release(&merge_buf);
    PyBuffer_Release(&out_buf);
    return result;
}

static PyMethodDef methods[] = {
    {"train", train, METH_VARARGS,
     "train(symbols: uint16 buffer, starts: int64 buffer, lengths: int32 buffer, alphabet: list[str], "
     "n_merges: int, threads: int = 1, done: writable int64 buffer = None) -> list of (left, right, new) "
     "token ids. Merges in place in `symbols`; `done[0]` counts the merges made so far."},
    {"encode", encode, METH_VARARGS,
     "encode(sequence: bytes of A/C/G/T, merges: int32 buffer of (left, right, new) rows in rank order, "
     "out: writable uint32 buffer, threads: int = 1) -> number of token ids written."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_bpe", "Genome-scale byte-pair encoding.", -1,
                                    methods};

PyMODINIT_FUNC PyInit__bpe(void) { return PyModule_Create(&module); }
