#include <string.h>
#include "calc.h"

long calc_ans;
int calc_evaluations;

struct parser { struct lexer lx; const char *error; };

static long parse_sum(struct parser *p);

static long fail(struct parser *p, const char *msg)
{
    if (!p->error)
        p->error = msg;
    return 0;
}

static long parse_atom(struct parser *p)
{
    struct token t = p->lx.cur;
    lexer_next(&p->lx);
    switch (t.kind) {
    case TOK_NUM: return t.value;
    case TOK_IDENT:
        if (strcmp(t.text, "ans") == 0)
            return calc_ans;
        return fail(p, "unknown variable");
    case TOK_LPAREN: {
        long v = parse_sum(p);
        if (p->lx.cur.kind != TOK_RPAREN)
            return fail(p, "missing )");
        lexer_next(&p->lx);
        return v;
    }
    case TOK_OP:
        if (t.text[0] == '-')
            return -parse_atom(p);
        return fail(p, "unexpected operator");
    default:
        return fail(p, "unexpected input");
    }
}

static long power(long base, long exp)
{
    long r = 1;
    while (exp-- > 0)
        r *= base;
    return r;
}

static long parse_power(struct parser *p)
{
    long base = parse_atom(p);
    if (p->lx.cur.kind == TOK_OP && p->lx.cur.text[0] == '^') {
        lexer_next(&p->lx);
        return power(base, parse_power(p)); /* right associative */
    }
    return base;
}

static long parse_product(struct parser *p)
{
    long v = parse_power(p);
    while (p->lx.cur.kind == TOK_OP && strchr("*/%", p->lx.cur.text[0])) {
        char op = p->lx.cur.text[0];
        lexer_next(&p->lx);
        long r = parse_power(p);
        if (op != '*' && r == 0)
            return fail(p, "division by zero");
        v = op == '*' ? v * r : op == '/' ? v / r : v % r;
    }
    return v;
}

static long parse_sum(struct parser *p)
{
    long v = parse_product(p);
    while (p->lx.cur.kind == TOK_OP && strchr("+-", p->lx.cur.text[0])) {
        char op = p->lx.cur.text[0];
        lexer_next(&p->lx);
        long r = parse_product(p);
        v = op == '+' ? v + r : v - r;
    }
    return v;
}

int calc_eval(const char *src, long *value, const char **error)
{
    struct parser p = { .error = NULL };
    lexer_init(&p.lx, src);
    long v = parse_sum(&p);
    if (!p.error && p.lx.cur.kind != TOK_END)
        p.error = "trailing input";
    calc_evaluations++;
    if (p.error) {
        *error = p.error;
        return -1;
    }
    *value = calc_ans = v;
    return 0;
}
