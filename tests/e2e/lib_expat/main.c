/* libexpat.a: parse a small document with attributes, character data,
 * namespaces and an entity; print the element tree; then a malformed one. */
#include <expat.h>
#include <stdio.h>
#include <string.h>

static int depth;

static void XMLCALL start(void *ud, const XML_Char *name, const XML_Char **atts) {
    (void)ud;
    printf("%*s<%s", depth * 2, "", name);
    for (int i = 0; atts[i]; i += 2)
        printf(" %s=\"%s\"", atts[i], atts[i + 1]);
    printf(">\n");
    depth++;
}

static void XMLCALL end(void *ud, const XML_Char *name) {
    (void)ud;
    depth--;
    printf("%*s</%s>\n", depth * 2, "", name);
}

static void XMLCALL text(void *ud, const XML_Char *s, int len) {
    (void)ud;
    int i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\n')) i++;
    if (i < len)
        printf("%*stext \"%.*s\"\n", depth * 2, "", len - i, s + i);
}

static int parse(const char *doc, int ns) {
    XML_Parser p = ns ? XML_ParserCreateNS(NULL, '|') : XML_ParserCreate(NULL);
    XML_SetElementHandler(p, start, end);
    XML_SetCharacterDataHandler(p, text);
    depth = 0;
    /* feed in two pieces, to exercise the incremental parser */
    size_t half = strlen(doc) / 2;
    int ok = XML_Parse(p, doc, (int)half, 0) != XML_STATUS_ERROR &&
             XML_Parse(p, doc + half, (int)(strlen(doc) - half), 1) != XML_STATUS_ERROR;
    if (!ok)
        printf("error at line %lu: %s\n", (unsigned long)XML_GetCurrentLineNumber(p),
               XML_ErrorString(XML_GetErrorCode(p)));
    XML_ParserFree(p);
    return ok;
}

int main(void) {
    const char *doc =
        "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE library [<!ENTITY rv \"rivet &amp; co\">]>\n"
        "<library xmlns:x=\"urn:example\" version=\"2\">\n"
        "  <book id=\"1\" lang=\"en\"><title>Linkers &amp; Loaders</title></book>\n"
        "  <book id=\"2\"><title>&rv;</title><x:note>namespaced</x:note></book>\n"
        "  <empty/>\n"
        "</library>\n";
    int a = parse(doc, 0);
    int b = parse(doc, 1);
    int c = parse("<a><b></a>", 0);
    printf("results %d %d %d, expat %s\n", a, b, c,
           strncmp(XML_ExpatVersion(), "expat_2.", 8) == 0 ? "2.x" : "?");
    return 0;
}
