#include <ctype.h>
#include <string.h>
#include "calc.h"

void lexer_init(struct lexer *lx, const char *src)
{
    lx->pos = src;
    lexer_next(lx);
}

void lexer_next(struct lexer *lx)
{
    struct token *t = &lx->cur;
    while (isspace((unsigned char)*lx->pos))
        lx->pos++;
    memset(t, 0, sizeof *t);
    char c = *lx->pos;
    if (c == 0) {
        t->kind = TOK_END;
    } else if (isdigit((unsigned char)c)) {
        t->kind = TOK_NUM;
        while (isdigit((unsigned char)*lx->pos))
            t->value = t->value * 10 + (*lx->pos++ - '0');
    } else if (isalpha((unsigned char)c)) {
        t->kind = TOK_IDENT;
        size_t n = 0;
        while (isalnum((unsigned char)*lx->pos) && n < sizeof t->text - 1)
            t->text[n++] = *lx->pos++;
    } else if (strchr("+-*/%^", c)) {
        t->kind = TOK_OP;
        t->text[0] = *lx->pos++;
    } else if (c == '(' || c == ')') {
        t->kind = c == '(' ? TOK_LPAREN : TOK_RPAREN;
        lx->pos++;
    } else {
        t->kind = TOK_BAD;
        t->text[0] = *lx->pos++;
    }
}
