/* The chagubang SH/SZ record parser's happy path, in C.
 *
 * The reference implementation is RecordParser in chagubang_wire.py, and it stays the
 * authority: this module handles only records it can parse completely (33 '$'-separated
 * fields, plain digit volumes, values its caches or the Python helpers accept) and
 * answers None for anything else, which the Python parser then parses, or refuses with
 * the precise reason. So a record parses to the same Quote on both paths, or this one
 * steps aside; tests/unit/market/test_chagubang_fast.py checks that on generated records.
 *
 * What it shares with the Python parser: the price, time, symbol and name caches (dicts,
 * filled through the same Python functions on a miss) and the Quote and Level classes,
 * whose instances it fills slot by slot exactly as chagubang_wire.make_quote does (a
 * fresh, unpublished instance of a frozen slots dataclass). It keeps its own per-code
 * memory of the previous record, so unchanged fields and book levels are reused.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <string.h>

#define FIELDS 33
#define DEPTH 5
#define LOT 100
#define MAX_DIGITS 15

enum { Q_SYMBOL, Q_NAME, Q_TS, Q_LAST, Q_PREV, Q_OPEN, Q_HIGH, Q_LOW, Q_VOLUME, Q_AMOUNT,
       Q_BIDS, Q_ASKS, Q_LIMIT_UP, Q_LIMIT_DOWN, Q_NO_LIMIT, Q_COUNT };
static const char *QUOTE_FIELDS[Q_COUNT] = {
    "symbol", "name", "ts", "last", "previous_close", "open", "high", "low", "volume",
    "amount", "bids", "asks", "limit_up", "limit_down", "no_limit"};
static const char *LEVEL_FIELDS[2] = {"price", "volume"};

typedef struct {
    const char *p;
    Py_ssize_t n;
} Span;

typedef struct {
    PyObject_HEAD
    PyTypeObject *quote_type;
    PyTypeObject *level_type;
    Py_ssize_t quote_offsets[Q_COUNT];
    Py_ssize_t level_offsets[2];
    PyObject *prices;   /* bytes -> Decimal; a dict subclass whose __missing__ validates */
    PyObject *times;    /* bytes -> datetime; likewise */
    PyObject *symbols;  /* bytes -> Symbol */
    PyObject *names;    /* bytes -> str */
    PyObject *symbol_of; /* callables for a cache miss: they fill the cache or raise */
    PyObject *name_of;
    PyObject *amount_of;
    PyObject *books;    /* code bytes -> (payload, quote, bids by slot, asks by slot) */
} FastParser;

#define SLOT(obj, offset) (*(PyObject **)((char *)(obj) + (offset)))

/* The offsets of ``names`` in ``type``'s __slots__, or -1 (with an exception). */
static int
slot_offsets(PyTypeObject *type, const char **names, int count, Py_ssize_t *offsets)
{
    for (int i = 0; i < count; i++) {
        PyObject *descr = PyDict_GetItemString(type->tp_dict, names[i]); /* borrowed */
        if (descr == NULL || !Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
            PyErr_Format(PyExc_TypeError, "%s.%s is not a slot", type->tp_name, names[i]);
            return -1;
        }
        PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
        if (member->type != T_OBJECT_EX || (member->flags & READONLY)) {
            PyErr_Format(PyExc_TypeError, "%s.%s is not a plain object slot",
                         type->tp_name, names[i]);
            return -1;
        }
        offsets[i] = member->offset;
    }
    return 0;
}

static int
split(const char *buf, Py_ssize_t len, Span *fields)
{
    int count = 0;
    const char *start = buf, *end = buf + len;
    for (;;) {
        const char *dollar = memchr(start, '$', (size_t)(end - start));
        if (count == FIELDS) {
            return -1;
        }
        fields[count].p = start;
        fields[count].n = (dollar ? dollar : end) - start;
        count++;
        if (dollar == NULL) {
            return count;
        }
        start = dollar + 1;
    }
}

static inline int
same(Span a, Span b)
{
    return a.n == b.n && memcmp(a.p, b.p, (size_t)a.n) == 0;
}

/* A volume in shares from plain digits, or -1 for anything else (the Python path decides). */
static long long
lots_to_shares(Span s)
{
    if (s.n == 0 || s.n > MAX_DIGITS) {
        return -1;
    }
    long long value = 0;
    for (Py_ssize_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (c < '0' || c > '9') {
            return -1;
        }
        value = value * 10 + (c - '0');
    }
    return value * LOT;
}

/* New reference: ``cache[raw]``, through the cache's __missing__ on a miss. */
static PyObject *
cached(PyObject *cache, Span raw)
{
    PyObject *key = PyBytes_FromStringAndSize(raw.p, raw.n);
    if (key == NULL) {
        return NULL;
    }
    PyObject *value = PyDict_GetItemWithError(cache, key);
    if (value != NULL) {
        Py_INCREF(value);
    } else if (!PyErr_Occurred()) {
        value = PyObject_GetItem(cache, key);
    }
    Py_DECREF(key);
    return value;
}

/* New reference: ``cache.get(raw) or miss(raw)``. */
static PyObject *
cached_or_call(PyObject *cache, PyObject *miss, Span raw)
{
    PyObject *key = PyBytes_FromStringAndSize(raw.p, raw.n);
    if (key == NULL) {
        return NULL;
    }
    PyObject *value = PyDict_GetItemWithError(cache, key);
    if (value != NULL && PyObject_IsTrue(value) == 1) {
        Py_INCREF(value);
    } else if (PyErr_Occurred()) {
        value = NULL;
    } else {
        value = PyObject_CallOneArg(miss, key);
    }
    Py_DECREF(key);
    return value;
}

/* New reference to a new Level, or NULL. */
static PyObject *
new_level(FastParser *self, PyObject *price, long long volume)
{
    PyObject *count = PyLong_FromLongLong(volume);
    if (count == NULL) {
        return NULL;
    }
    PyObject *level = self->level_type->tp_alloc(self->level_type, 0);
    if (level == NULL) {
        Py_DECREF(count);
        return NULL;
    }
    Py_INCREF(price);
    SLOT(level, self->level_offsets[0]) = price;
    SLOT(level, self->level_offsets[1]) = count;
    return level;
}

/* One side of the book: fills ``levels`` (new references or NULL for an empty slot).
 * ``prices_at``/``volumes_at`` index the record's fields; ``before`` and ``old`` are the
 * code's previous record and levels (NULL for a first record). Returns 0, or -1 to step
 * aside (with or without an exception set). */
static int
side(FastParser *self, const Span *f, const Span *before, PyObject *old, int prices_at,
     int volumes_at, PyObject **levels)
{
    for (int slot = 0; slot < DEPTH; slot++) {
        Span raw_price = f[prices_at + slot], raw_volume = f[volumes_at + slot];
        levels[slot] = NULL;
        if (before != NULL) {
            int reuse = -1;
            if (same(raw_price, before[prices_at + slot]) &&
                same(raw_volume, before[volumes_at + slot])) {
                reuse = slot;
            } else if (slot > 0 && same(raw_price, before[prices_at + slot - 1]) &&
                       same(raw_volume, before[volumes_at + slot - 1])) {
                reuse = slot - 1;
            } else if (slot < DEPTH - 1 && same(raw_price, before[prices_at + slot + 1]) &&
                       same(raw_volume, before[volumes_at + slot + 1])) {
                reuse = slot + 1;
            }
            if (reuse >= 0) {
                PyObject *level = PyTuple_GET_ITEM(old, reuse);
                if (level != Py_None) {
                    Py_INCREF(level);
                    levels[slot] = level;
                }
                continue;
            }
        }
        PyObject *price = cached(self->prices, raw_price);
        if (price == NULL) {
            return -1;
        }
        int nonzero = PyObject_IsTrue(price);
        if (nonzero < 0) {
            Py_DECREF(price);
            return -1;
        }
        if (nonzero) {
            long long volume = lots_to_shares(raw_volume);
            if (volume < 0) {
                Py_DECREF(price);
                return -1;
            }
            if (volume > 0) {
                levels[slot] = new_level(self, price, volume);
                if (levels[slot] == NULL) {
                    Py_DECREF(price);
                    return -1;
                }
            }
        }
        Py_DECREF(price);
    }
    return 0;
}

static void
clear_levels(PyObject **levels)
{
    for (int i = 0; i < DEPTH; i++) {
        Py_CLEAR(levels[i]);
    }
}

/* (levels by slot, None where empty), and the published tuple of the present ones. */
static int
side_tuples(PyObject **levels, PyObject **by_slot, PyObject **published)
{
    int present = 0;
    for (int i = 0; i < DEPTH; i++) {
        present += levels[i] != NULL;
    }
    *by_slot = PyTuple_New(DEPTH);
    *published = PyTuple_New(present);
    if (*by_slot == NULL || *published == NULL) {
        Py_CLEAR(*by_slot);
        Py_CLEAR(*published);
        return -1;
    }
    for (int i = 0, at = 0; i < DEPTH; i++) {
        PyObject *level = levels[i] ? levels[i] : Py_None;
        Py_INCREF(level);
        PyTuple_SET_ITEM(*by_slot, i, level);
        if (levels[i] != NULL) {
            Py_INCREF(levels[i]);
            PyTuple_SET_ITEM(*published, at++, levels[i]);
        }
    }
    return 0;
}

/* New reference: the previous quote's value when the field is unchanged, else ``make``. */
#define FIELD_OR(index, prev_field, expr)                                                 \
    ((before != NULL && same(f[index], before[index]))                                     \
         ? (Py_INCREF(SLOT(prev_quote, self->quote_offsets[prev_field])),                  \
            SLOT(prev_quote, self->quote_offsets[prev_field]))                             \
         : (expr))

static PyObject *
limit_value(FastParser *self, Span raw)
{
    PyObject *value = cached(self->prices, raw);
    if (value == NULL) {
        return NULL;
    }
    int nonzero = PyObject_IsTrue(value);
    if (nonzero < 0) {
        Py_DECREF(value);
        return NULL;
    }
    if (!nonzero) {
        Py_DECREF(value);
        Py_RETURN_NONE;
    }
    return value;
}

static PyObject *
FastParser_parse(FastParser *self, PyObject *payload)
{
    if (!PyBytes_CheckExact(payload)) {
        Py_RETURN_NONE;
    }
    Span f[FIELDS], pf[FIELDS];
    if (split(PyBytes_AS_STRING(payload), PyBytes_GET_SIZE(payload), f) != FIELDS) {
        Py_RETURN_NONE;
    }
    long long volume = lots_to_shares(f[7]);
    if (volume < 0) {
        Py_RETURN_NONE;
    }
    PyObject *values[Q_COUNT] = {NULL};
    PyObject *bids[DEPTH] = {NULL}, *asks[DEPTH] = {NULL};
    PyObject *bids_by_slot = NULL, *asks_by_slot = NULL, *state = NULL, *quote = NULL;
    const Span *before = NULL;
    PyObject *prev_quote = NULL, *prev_bids = NULL, *prev_asks = NULL;

    PyObject *code = PyBytes_FromStringAndSize(f[0].p, f[0].n);
    if (code == NULL) {
        return NULL;
    }
    PyObject *prev = PyDict_GetItemWithError(self->books, code); /* borrowed */
    if (prev != NULL) {
        Py_INCREF(prev); /* the dict entry may be replaced below */
        PyObject *prev_payload = PyTuple_GET_ITEM(prev, 0);
        split(PyBytes_AS_STRING(prev_payload), PyBytes_GET_SIZE(prev_payload), pf);
        before = pf;
        prev_quote = PyTuple_GET_ITEM(prev, 1);
        prev_bids = PyTuple_GET_ITEM(prev, 2);
        prev_asks = PyTuple_GET_ITEM(prev, 3);
    } else if (PyErr_Occurred()) {
        goto fail;
    }

    values[Q_SYMBOL] = FIELD_OR(0, Q_SYMBOL, cached_or_call(self->symbols, self->symbol_of, f[0]));
    if (values[Q_SYMBOL] == NULL) goto fail;
    values[Q_NAME] = FIELD_OR(1, Q_NAME, cached_or_call(self->names, self->name_of, f[1]));
    if (values[Q_NAME] == NULL) goto fail;
    values[Q_LIMIT_UP] = FIELD_OR(31, Q_LIMIT_UP, limit_value(self, f[31]));
    if (values[Q_LIMIT_UP] == NULL) goto fail;
    values[Q_LIMIT_DOWN] = FIELD_OR(32, Q_LIMIT_DOWN, limit_value(self, f[32]));
    if (values[Q_LIMIT_DOWN] == NULL) goto fail;
    if (before != NULL && same(f[8], before[8])) {
        values[Q_AMOUNT] = SLOT(prev_quote, self->quote_offsets[Q_AMOUNT]);
        Py_INCREF(values[Q_AMOUNT]);
    } else {
        PyObject *raw = PyBytes_FromStringAndSize(f[8].p, f[8].n);
        if (raw == NULL) goto fail;
        values[Q_AMOUNT] = PyObject_CallOneArg(self->amount_of, raw);
        Py_DECREF(raw);
        if (values[Q_AMOUNT] == NULL) goto fail;
    }
    int same_bids = before != NULL, same_asks = before != NULL;
    for (int i = 9; i < 29 && before != NULL; i++) {
        if (!same(f[i], before[i])) {
            if (i < 19) same_asks = 0; else same_bids = 0;
        }
    }
    if (same_bids) {
        values[Q_BIDS] = SLOT(prev_quote, self->quote_offsets[Q_BIDS]);
        Py_INCREF(values[Q_BIDS]);
        bids_by_slot = prev_bids;
        Py_INCREF(bids_by_slot);
    } else {
        if (side(self, f, before, prev_bids, 19, 24, bids) < 0) goto fail;
        if (side_tuples(bids, &bids_by_slot, &values[Q_BIDS]) < 0) goto fail;
    }
    if (same_asks) {
        values[Q_ASKS] = SLOT(prev_quote, self->quote_offsets[Q_ASKS]);
        Py_INCREF(values[Q_ASKS]);
        asks_by_slot = prev_asks;
        Py_INCREF(asks_by_slot);
    } else {
        if (side(self, f, before, prev_asks, 9, 14, asks) < 0) goto fail;
        if (side_tuples(asks, &asks_by_slot, &values[Q_ASKS]) < 0) goto fail;
    }
    values[Q_TS] = FIELD_OR(2, Q_TS, cached(self->times, f[2]));
    if (values[Q_TS] == NULL) goto fail;
    values[Q_LAST] = FIELD_OR(6, Q_LAST, cached(self->prices, f[6]));
    if (values[Q_LAST] == NULL) goto fail;
    values[Q_PREV] = FIELD_OR(30, Q_PREV, cached(self->prices, f[30]));
    if (values[Q_PREV] == NULL) goto fail;
    values[Q_OPEN] = FIELD_OR(3, Q_OPEN, cached(self->prices, f[3]));
    if (values[Q_OPEN] == NULL) goto fail;
    values[Q_HIGH] = FIELD_OR(4, Q_HIGH, cached(self->prices, f[4]));
    if (values[Q_HIGH] == NULL) goto fail;
    values[Q_LOW] = FIELD_OR(5, Q_LOW, cached(self->prices, f[5]));
    if (values[Q_LOW] == NULL) goto fail;
    values[Q_VOLUME] = FIELD_OR(7, Q_VOLUME, PyLong_FromLongLong(volume));
    if (values[Q_VOLUME] == NULL) goto fail;
    /* The feed never says "no limit": a 0 limit is None, worked out from the facts. */
    values[Q_NO_LIMIT] = Py_NewRef(Py_False);

    quote = self->quote_type->tp_alloc(self->quote_type, 0);
    if (quote == NULL) goto fail;
    state = PyTuple_Pack(4, payload, quote, bids_by_slot, asks_by_slot);
    if (state == NULL || PyDict_SetItem(self->books, code, state) < 0) goto fail;
    for (int i = 0; i < Q_COUNT; i++) {
        SLOT(quote, self->quote_offsets[i]) = values[i]; /* the references move */
        values[i] = NULL;
    }
    Py_DECREF(state);
    Py_DECREF(bids_by_slot);
    Py_DECREF(asks_by_slot);
    clear_levels(bids);
    clear_levels(asks);
    Py_XDECREF(prev);
    Py_DECREF(code);
    return quote;

fail:
    for (int i = 0; i < Q_COUNT; i++) {
        Py_XDECREF(values[i]);
    }
    clear_levels(bids);
    clear_levels(asks);
    Py_XDECREF(bids_by_slot);
    Py_XDECREF(asks_by_slot);
    Py_XDECREF(state);
    Py_XDECREF(quote);
    Py_XDECREF(prev);
    Py_DECREF(code);
    if (PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_Exception) || PyErr_ExceptionMatches(PyExc_MemoryError)) {
            return NULL; /* KeyboardInterrupt, MemoryError and such are not parse problems */
        }
        PyErr_Clear();
    }
    Py_RETURN_NONE; /* the Python parser decides (and names the reason if it refuses) */
}

static PyObject *
FastParser_forget(FastParser *self, PyObject *Py_UNUSED(ignored))
{
    PyDict_Clear(self->books);
    Py_RETURN_NONE;
}

static int
FastParser_init(FastParser *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"quote_type", "level_type", "prices", "times", "symbols", "names",
                             "symbol_of", "name_of", "amount_of", NULL};
    PyObject *quote_type, *level_type, *prices, *times, *symbols, *names, *symbol_of, *name_of,
        *amount_of;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!O!O!O!O!O!OOO", kwlist, &PyType_Type,
                                     &quote_type, &PyType_Type, &level_type, &PyDict_Type,
                                     &prices, &PyDict_Type, &times, &PyDict_Type, &symbols,
                                     &PyDict_Type, &names, &symbol_of, &name_of, &amount_of)) {
        return -1;
    }
    if (slot_offsets((PyTypeObject *)quote_type, QUOTE_FIELDS, Q_COUNT, self->quote_offsets) < 0 ||
        slot_offsets((PyTypeObject *)level_type, LEVEL_FIELDS, 2, self->level_offsets) < 0) {
        return -1;
    }
    PyObject *books = PyDict_New();
    if (books == NULL) {
        return -1;
    }
    Py_INCREF(quote_type);
    Py_INCREF(level_type);
    Py_INCREF(prices);
    Py_INCREF(times);
    Py_INCREF(symbols);
    Py_INCREF(names);
    Py_INCREF(symbol_of);
    Py_INCREF(name_of);
    Py_INCREF(amount_of);
    Py_XSETREF(self->quote_type, (PyTypeObject *)quote_type);
    Py_XSETREF(self->level_type, (PyTypeObject *)level_type);
    Py_XSETREF(self->prices, prices);
    Py_XSETREF(self->times, times);
    Py_XSETREF(self->symbols, symbols);
    Py_XSETREF(self->names, names);
    Py_XSETREF(self->symbol_of, symbol_of);
    Py_XSETREF(self->name_of, name_of);
    Py_XSETREF(self->amount_of, amount_of);
    Py_XSETREF(self->books, books);
    return 0;
}

static int
FastParser_traverse(FastParser *self, visitproc visit, void *arg)
{
    Py_VISIT(self->quote_type);
    Py_VISIT(self->level_type);
    Py_VISIT(self->prices);
    Py_VISIT(self->times);
    Py_VISIT(self->symbols);
    Py_VISIT(self->names);
    Py_VISIT(self->symbol_of);
    Py_VISIT(self->name_of);
    Py_VISIT(self->amount_of);
    Py_VISIT(self->books);
    return 0;
}

static int
FastParser_clear(FastParser *self)
{
    Py_CLEAR(self->quote_type);
    Py_CLEAR(self->level_type);
    Py_CLEAR(self->prices);
    Py_CLEAR(self->times);
    Py_CLEAR(self->symbols);
    Py_CLEAR(self->names);
    Py_CLEAR(self->symbol_of);
    Py_CLEAR(self->name_of);
    Py_CLEAR(self->amount_of);
    Py_CLEAR(self->books);
    return 0;
}

static void
FastParser_dealloc(FastParser *self)
{
    PyObject_GC_UnTrack(self);
    FastParser_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef FastParser_methods[] = {
    {"parse", (PyCFunction)FastParser_parse, METH_O,
     "The Quote of an SH/SZ record, or None when the Python parser must decide."},
    {"forget", (PyCFunction)FastParser_forget, METH_NOARGS,
     "Drop the per-code memory of previous records."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject FastParserType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "aigupiao.market.feeds._chagubang_fast.FastParser",
    .tp_basicsize = sizeof(FastParser),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "chagubang SH/SZ records to Quotes; see chagubang_wire.RecordParser.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)FastParser_init,
    .tp_dealloc = (destructor)FastParser_dealloc,
    .tp_traverse = (traverseproc)FastParser_traverse,
    .tp_clear = (inquiry)FastParser_clear,
    .tp_methods = FastParser_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "aigupiao.market.feeds._chagubang_fast",
    .m_doc = "The chagubang record parser's happy path in C (see chagubang_wire.py).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__chagubang_fast(void)
{
    if (PyType_Ready(&FastParserType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    Py_INCREF(&FastParserType);
    if (PyModule_AddObject(m, "FastParser", (PyObject *)&FastParserType) < 0) {
        Py_DECREF(&FastParserType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
