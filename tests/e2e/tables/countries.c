#include <stddef.h>
#include "tables.h"

extern const struct country countries[];

static const struct country *const fr_n[] = { &countries[1], &countries[2], NULL };
static const struct country *const de_n[] = { &countries[0], NULL };
static const struct country *const es_n[] = { &countries[0], NULL };

const struct country countries[] = {
    { "France", &cities[0], &languages[0], fr_n },
    { "Germany", &cities[1], &languages[1], de_n },
    { "Spain", &cities[2], &languages[2], es_n },
    { "Iceland", &cities[3], &languages[3], NULL },
    { NULL, NULL, NULL, NULL },
};
const struct node self_ref = { &self_ref };
static const int row0[] = { 1, 2, 3 }, row1[] = { 40, 50, 60 };
const int *const matrix_rows[] = { row0, row1, NULL };
