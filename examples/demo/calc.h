/* calc — a tiny integer expression evaluator in three objects:
 * lexer.c (tokens), parser.c (recursive descent + evaluation), main.c. */
#ifndef CALC_H
#define CALC_H

enum token_kind { TOK_NUM, TOK_IDENT, TOK_OP, TOK_LPAREN, TOK_RPAREN, TOK_END, TOK_BAD };

struct token {
    enum token_kind kind;
    long value;      /* TOK_NUM */
    char text[16];   /* TOK_IDENT; TOK_OP: the operator */
};

struct lexer { const char *pos; struct token cur; };

void lexer_init(struct lexer *lx, const char *src);
void lexer_next(struct lexer *lx);

/* Evaluate `src`; on success store the value and return 0, else return -1
 * and point *error at a message. Variables: ans (the previous result). */
int calc_eval(const char *src, long *value, const char **error);

extern long calc_ans;
extern int calc_evaluations;

#endif
