/* JUnit XML, as pytest (--junitxml) and JUnit 5's console launcher (--reports-dir) write it.
 *
 * libxml2 reads it as a stream of SAX2 events, so no tree is built and a testcase counts only
 * once its end tag was read: a cut-off file keeps the testcases before the cut. The parser
 * never expands entities (no XML_PARSE_NOENT, and the SAX handler has no getEntity, so
 * internal entity declarations are not even looked up), never loads a DTD (no
 * XML_PARSE_DTDLOAD) and never touches the network (XML_PARSE_NONET); libxml2's own depth limit
 * stays on (no XML_PARSE_HUGE: 256 open elements, then the parser halts), and its push parser
 * keeps the open elements on the heap, so a report nested 100,000 deep costs no stack (checked
 * on a small thread stack by test_report). XML_PARSE_RECOVER lets a report with a stray "&" or
 * a bad byte still be read past that point.
 *
 * A <testcase> is "fail" with a <failure>, "error" with an <error> and left out with a
 * <skipped>. Its name is the name attribute. Its message is the failure's message attribute,
 * then a blank line and the element's text (only the text when it already holds the attribute,
 * as Java's "Exception: message" does); Java stack frames of the test framework and the JDK are
 * dropped from that text. Its output is the text of its
 * <system-out> and <system-err>, without pytest's "--- Captured Out ---" banners and JUnit 5's
 * "unique-id:"/"display-name:" lines. <property name="test_code" value="..."> gives the
 * test_code.
 *
 * libxml2 is loaded the first time a report is read (common/lazylib.h): runs that read none
 * never map it. */
#include <errno.h>
#include <libxml/parser.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include "common/lazylib.h"
#include "report/report-int.h"

/* The generic error channel is per thread: xmlGenericError is a macro over these. */
#define XML_SYMS(X)            \
    X(xmlInitParser)           \
    X(xmlCreatePushParserCtxt) \
    X(xmlCtxtUseOptions)       \
    X(xmlParseChunk)           \
    X(xmlFreeDoc)              \
    X(xmlFreeParserCtxt)       \
    X(xmlSetGenericErrorFunc)  \
    X(__xmlGenericError)       \
    X(__xmlGenericErrorContext)
LAZYLIB_DEFINE(libxml2, RUNBOX_SONAME_XML2, XML_SYMS);

enum target {
    TO_NOWHERE,
    TO_MESSAGE,
    TO_OUTPUT,
};

enum outcome {
    CASE_PASS,
    CASE_SKIP,
    CASE_FAIL,
    CASE_ERROR,
};

struct junit {
    struct report *r;
    int depth;           /* elements open */
    bool root_seen;      /* the document element started */
    bool is_junit;       /* ... and it is <testsuites>, <testsuite> or <testcase> */
    bool root_closed;    /* ... and ended: the whole file was read */
    int error;           /* -ENOMEM once allocation failed */
    int case_depth;      /* depth of the open <testcase>, 0 when none */
    enum outcome status; /* of the open testcase */
    enum target target;  /* where character data goes */
    int target_depth;    /* the element that sends it there */
    struct buf name, attr_msg, text_msg, output, code;
    char why[160]; /* the first XML error */
};

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
    libxml2_api.xmlInitParser();
}

/*** Attributes ***/

/* The value of attribute @name in SAX2's (localname, prefix, URI, value, end) tuples. */
static bool attr(const xmlChar **attrs, int n, const char *name, struct report__str *ret)
{
    for (int i = 0; attrs && i < n; i++) {
        const xmlChar **a = attrs + 5 * i;
        if (a[0] && !strcmp((const char *)a[0], name) && a[3] && a[4] >= a[3]) {
            *ret = (struct report__str){(const char *)a[3], (size_t)(a[4] - a[3])};
            return true;
        }
    }
    return false;
}

/* Note a failed buf_append (which returns the bytes kept, or -ENOMEM). */
static void keep(struct junit *j, long n)
{
    if (n < 0)
        j->error = -ENOMEM;
}

/* Append an attribute value. Without XML_PARSE_NOENT libxml2 hands "&amp;" in attribute
 * values back as "&#38;" (other references are already replaced), so that is undone here. */
static void append_attr(struct junit *j, struct buf *b, struct report__str v)
{
    while (v.len) {
        const char *amp = memmem(v.p, v.len, "&#38;", 5);
        size_t n = amp ? (size_t)(amp - v.p) : v.len;
        keep(j, buf_append(b, v.p, n));
        if (amp)
            keep(j, buf_append(b, "&", 1));
        v = report__skip(v, amp ? n + 5 : n);
    }
}

static void set_buf(struct junit *j, struct buf *b, struct report__str s)
{
    b->len = 0;
    keep(j, buf_append(b, "", 0));
    append_attr(j, b, s);
}

/*** Cleaning up texts ***/

/* A JDK or test framework stack frame: noise in a message. */
static bool is_framework_frame(struct report__str line)
{
    static const char *const pkgs[] = {
            "org.junit.",        "org.opentest4j.", "java.base/",  "jdk.internal.",
            "java.lang.reflect", "sun.reflect.",    "org.apache.", "org.gradle.",
    };
    struct report__str t = report__trim(line);

    if (report__starts_with(t, "...") && t.len > 5 && !memcmp(t.p + t.len - 4, "more", 4))
        return true;
    if (!report__starts_with(t, "at "))
        return false;
    t = report__skip(t, 3);
    for (size_t i = 0; i < ARRAY_SIZE(pkgs); i++) {
        if (report__starts_with(t, pkgs[i]))
            return true;
    }
    return false;
}

static bool is_pytest_banner(struct report__str line)
{
    struct report__str t = report__trim(line);

    return report__starts_with(t, "----") && t.len > 8 && t.p[t.len - 1] == '-' &&
           (report__contains(t, (struct report__str){" Captured ", 10}));
}

/* @in's lines without framework frames, into @out. */
static int filter_frames(struct report__str in, struct buf *out)
{
    struct report__lines it;
    struct report__str line;

    report__lines_init(&it, in.p, in.len);
    while (report__next_line(&it, &line)) {
        if (!is_framework_frame(line) && report__append_line(out, line) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* The message: the attribute, then the text (framework frames dropped) when it adds to it. */
static int build_message(const struct junit *j, struct buf *out)
{
    struct report__str a = report__trim((struct report__str){j->attr_msg.data, j->attr_msg.len});
    struct buf text;
    struct report__str t;
    int e;

    buf_init(&text, REPORT__BUF_MAX);
    e = filter_frames((struct report__str){j->text_msg.data, j->text_msg.len}, &text);
    t = report__trim((struct report__str){text.data, text.len});
    if (e == 0 && a.len && !report__contains(t, a))
        e = report__append_line(out, a);
    if (e == 0 && a.len && t.len && !report__contains(t, a))
        e = report__append_line(out, (struct report__str){"", 0});
    if (e == 0 && t.len)
        e = report__append_line(out, t);
    buf_done(&text);
    return e;
}

/* The output without the reporters' own lines. */
static int build_output(const struct junit *j, struct buf *out)
{
    struct report__lines it;
    struct report__str line;
    bool after_id = false;

    report__lines_init(&it, j->output.data ? j->output.data : "", j->output.len);
    while (report__next_line(&it, &line)) {
        bool id = report__starts_with(line, "unique-id: [");
        bool drop = id || is_pytest_banner(line) ||
                    (after_id && report__starts_with(line, "display-name: "));
        after_id = id;
        if (!drop && report__append_line(out, line) < 0)
            return -ENOMEM;
    }
    return 0;
}

/*** Testcases ***/

static void case_start(struct junit *j, const xmlChar **attrs, int n)
{
    struct report__str name = {NULL, 0};

    (void)attr(attrs, n, "name", &name);
    set_buf(j, &j->name, name);
    j->attr_msg.len = j->text_msg.len = j->output.len = j->code.len = 0;
    j->status = CASE_PASS;
    j->case_depth = j->depth;
}

static void case_end(struct junit *j)
{
    static const char *const status[] = {[CASE_FAIL] = "fail", [CASE_ERROR] = "error"};
    struct buf msg, out;
    int e;

    j->case_depth = 0;
    if (j->status == CASE_SKIP)
        return;
    buf_init(&msg, REPORT__BUF_MAX);
    buf_init(&out, REPORT__BUF_MAX);
    e = j->status == CASE_PASS ? 0 : build_message(j, &msg);
    if (e == 0)
        e = build_output(j, &out);
    struct report__case c = {
            .name = {j->name.data, j->name.len},
            .status = j->status == CASE_PASS ? "pass" : status[j->status],
            .message = {msg.data, msg.len},
            .output = report__trim((struct report__str){out.data, out.len}),
            .test_code = {j->code.data, j->code.len},
    };
    if (e == 0)
        e = report__add(j->r, &c);
    if (e < 0)
        j->error = e;
    buf_done(&msg);
    buf_done(&out);
}

/* <failure> or <error>: the worse one wins, and several messages are kept one after another. */
static void case_problem(struct junit *j, enum outcome o, const xmlChar **attrs, int n)
{
    struct report__str m;

    if (o > j->status)
        j->status = o;
    if (attr(attrs, n, "message", &m) && m.len) {
        if (j->attr_msg.len)
            keep(j, buf_append(&j->attr_msg, "\n", 1));
        append_attr(j, &j->attr_msg, m);
    }
    if (j->text_msg.len)
        keep(j, buf_append(&j->text_msg, "\n", 1));
    j->target = TO_MESSAGE;
    j->target_depth = j->depth;
}

static void case_property(struct junit *j, const xmlChar **attrs, int n)
{
    struct report__str name, value;

    if (attr(attrs, n, "name", &name) && name.len == 9 && !memcmp(name.p, "test_code", 9) &&
        attr(attrs, n, "value", &value))
        set_buf(j, &j->code, value);
}

/* An element inside the open testcase. */
static void case_child(struct junit *j, const char *name, const xmlChar **attrs, int n)
{
    bool direct = j->depth == j->case_depth + 1;

    if (direct && !strcmp(name, "failure")) {
        case_problem(j, CASE_FAIL, attrs, n);
    } else if (direct && !strcmp(name, "error")) {
        case_problem(j, CASE_ERROR, attrs, n);
    } else if (direct && !strcmp(name, "skipped")) {
        if (j->status == CASE_PASS)
            j->status = CASE_SKIP;
    } else if (direct && (!strcmp(name, "system-out") || !strcmp(name, "system-err"))) {
        if (j->output.len)
            keep(j, buf_append(&j->output, "\n", 1));
        j->target = TO_OUTPUT;
        j->target_depth = j->depth;
    } else if (j->depth == j->case_depth + 2 && !strcmp(name, "property")) {
        case_property(j, attrs, n);
    }
}

/*** SAX2 callbacks ***/

static void on_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
                     int nb_ns, const xmlChar **ns, int nb_attrs, int nb_defaulted,
                     const xmlChar **attrs)
{
    struct junit *j = ctx;
    const char *name = (const char *)localname;

    (void)prefix, (void)uri, (void)nb_ns, (void)ns, (void)nb_defaulted;
    j->depth++;
    if (j->depth == 1) {
        j->root_seen = true;
        j->is_junit = !strcmp(name, "testsuites") || !strcmp(name, "testsuite") ||
                      !strcmp(name, "testcase");
    }
    if (!j->is_junit || j->error)
        return;
    if (j->case_depth)
        case_child(j, name, attrs, nb_attrs);
    else if (!strcmp(name, "testcase"))
        case_start(j, attrs, nb_attrs);
}

static void on_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
    struct junit *j = ctx;

    (void)localname, (void)prefix, (void)uri;
    if (j->target != TO_NOWHERE && j->depth == j->target_depth)
        j->target = TO_NOWHERE;
    if (j->case_depth && j->depth == j->case_depth && !j->error)
        case_end(j);
    if (j->depth == 1 && j->root_seen)
        j->root_closed = true;
    if (j->depth > 0)
        j->depth--;
}

static void on_text(void *ctx, const xmlChar *ch, int len)
{
    struct junit *j = ctx;

    if (len <= 0 || !j->case_depth)
        return;
    if (j->target == TO_MESSAGE)
        keep(j, buf_append(&j->text_msg, ch, (size_t)len));
    else if (j->target == TO_OUTPUT)
        keep(j, buf_append(&j->output, ch, (size_t)len));
}

/* libxml2 2.12 made the error const. */
#if LIBXML_VERSION >= 21200
typedef const xmlError *error_ptr;
#else
typedef xmlError *error_ptr;
#endif

static void on_error(void *ctx, error_ptr e)
{
    struct junit *j = ctx;

    if (j->why[0] || !e)
        return;
    snprintf(j->why, sizeof(j->why), "line %d: %s", e->line, e->message ? e->message : "?");
    j->why[strcspn(j->why, "\n")] = '\0';
}

/*** State ***/

static void junit_init(struct junit *j, struct report *r)
{
    memset(j, 0, sizeof(*j));
    j->r = r;
    buf_init(&j->name, REPORT__BUF_MAX);
    buf_init(&j->attr_msg, REPORT__BUF_MAX);
    buf_init(&j->text_msg, REPORT__BUF_MAX);
    buf_init(&j->output, REPORT__BUF_MAX);
    buf_init(&j->code, REPORT__BUF_MAX);
}

static void junit_done(struct junit *j)
{
    buf_done(&j->name);
    buf_done(&j->attr_msg);
    buf_done(&j->text_msg);
    buf_done(&j->output);
    buf_done(&j->code);
}

/*** Parsing ***/

/* Where the first tag with more than MAX_ATTRS attributes starts, or @len. libxml2 before 2.12
 * checks each attribute against all the others of its tag, so one tag with a million
 * attributes takes minutes: the report is read up to that tag, as if it were cut off there.
 * A rough scan (quotes, comments, CDATA) is enough to count the "=" of a tag. */
#define MAX_ATTRS 256

static size_t skip_to(const char *data, size_t len, size_t i, const char *end)
{
    const char *p = memmem(data + i, len - i, end, strlen(end));

    return p ? (size_t)(p - data) + strlen(end) : len;
}

static size_t usable_length(const char *data, size_t len)
{
    size_t tag = 0, eqs = 0;
    bool in_tag = false;
    char quote = 0;

    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        if (quote) {
            quote = c == quote ? 0 : quote;
        } else if (!in_tag && c == '<' && len - i >= 4 && !memcmp(data + i, "<!--", 4)) {
            i = skip_to(data, len, i + 4, "-->") - 1;
        } else if (!in_tag && c == '<' && len - i >= 9 && !memcmp(data + i, "<![CDATA[", 9)) {
            i = skip_to(data, len, i + 9, "]]>") - 1;
        } else if (!in_tag && c == '<') {
            in_tag = true, tag = i, eqs = 0;
        } else if (in_tag && (c == '"' || c == '\'')) {
            quote = c;
        } else if (in_tag && c == '>') {
            in_tag = false;
        } else if (in_tag && c == '=' && ++eqs > MAX_ATTRS) {
            return tag;
        }
    }
    return len;
}

static void silent(void *ctx, const char *fmt, ...)
{
    (void)ctx, (void)fmt;
}

/* Parse, with libxml2's generic error channel (this thread's) silenced meanwhile: some errors,
 * such as a bad byte for the declared encoding, go there instead of to the context's handler,
 * and would land on the server's stderr. */
static void silenced_parse(xmlParserCtxtPtr ctxt, const char *data, int len)
{
    xmlGenericErrorFunc old = *libxml2_api.__xmlGenericError();
    void *old_ctx = *libxml2_api.__xmlGenericErrorContext();

    libxml2_api.xmlSetGenericErrorFunc(NULL, silent);
    (void)libxml2_api.xmlParseChunk(ctxt, data, len, 1);
    libxml2_api.xmlSetGenericErrorFunc(old_ctx, old);
}

/* Push @data through libxml2 in one chunk, marked as the last one: the push parser then does
 * not look ahead for the end of each construct (which is quadratic on huge ones). */
static int feed(struct junit *j, const char *data, size_t len)
{
    const int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_RECOVER;
    xmlSAXHandler sax;
    xmlParserCtxtPtr ctxt;

    memset(&sax, 0, sizeof(sax));
    sax.initialized = XML_SAX2_MAGIC;
    sax.startElementNs = on_start;
    sax.endElementNs = on_end;
    sax.characters = on_text;
    sax.cdataBlock = on_text;
    sax.ignorableWhitespace = on_text;
    sax.serror = on_error;
    ctxt = libxml2_api.xmlCreatePushParserCtxt(&sax, j, NULL, 0, NULL);
    if (!ctxt)
        return -ENOMEM;
    (void)libxml2_api.xmlCtxtUseOptions(ctxt, opts);
    len = usable_length(data, len < INT_MAX ? len : INT_MAX);
    silenced_parse(ctxt, data, (int)len);
    /* For expat compatibility libxml2 keeps a DTD's entity declarations in a document of its
     * own even in SAX mode (never used here: they are not looked up); it is ours to free. */
    if (ctxt->myDoc)
        libxml2_api.xmlFreeDoc(ctxt->myDoc);
    ctxt->myDoc = NULL;
    libxml2_api.xmlFreeParserCtxt(ctxt);
    return j->error;
}

static bool is_blank_data(const char *data, size_t len)
{
    return report__is_blank((struct report__str){data, len});
}

int report__parse_junit(const char *data, size_t len, struct report *r, char *err, size_t errlen)
{
    struct junit j;
    int e;

    if (is_blank_data(data, len))
        return 0;
    if ((e = lazylib_load(&libxml2)) < 0) {
        report__seterr(err, errlen, "%s", libxml2.why);
        return e;
    }
    (void)pthread_once(&xml_once, xml_init);
    junit_init(&j, r);
    e = feed(&j, data, len);
    if (e == 0 && !j.root_seen) {
        report__seterr(err, errlen, "not XML: %s", j.why[0] ? j.why : "no element");
        e = -EINVAL;
    } else if (e == 0 && !j.is_junit) {
        report__seterr(err, errlen, "not a JUnit report: the root element is not <testsuites>");
        e = -EINVAL;
    }
    r->complete = e == 0 && j.root_closed;
    junit_done(&j);
    return e;
}
