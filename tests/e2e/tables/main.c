/* Static data full of pointers: string tables, pointers to pointers, struct
 * arrays pointing into other objects' data, and pointers with offsets. */
#include <stdio.h>
#include "tables.h"

int main(void)
{
    for (const struct country *c = countries; c->name; c++) {
        printf("%-8s capital=%-8s pop=%4d lang=%s", c->name, c->capital->name,
               c->capital->population, *c->language);
        printf(" neighbours:");
        for (const struct country *const *n = c->neighbours; n && *n; n++)
            printf(" %s", (*n)->name);
        printf("\n");
    }
    const char *const *const *lp = &language_table;
    printf("languages via ***: %s %s %s\n", (*lp)[0], (*lp)[1], (*lp)[2]);
    printf("word_ptrs: %s|%s|%s\n", word_ptrs[0], word_ptrs[1], word_ptrs[2]);
    printf("middle of alphabet: %c%c\n", *alphabet_mid, alphabet_mid[1]);
    printf("last city via end pointer: %s\n", (cities_end - 1)->name);
    printf("self-reference ok: %d\n", self_ref.self == &self_ref);
    int total = 0;
    for (const int *const *row = matrix_rows; *row; row++)
        for (int j = 0; j < 3; j++)
            total += (*row)[j];
    printf("matrix total=%d\n", total);
    return 0;
}
