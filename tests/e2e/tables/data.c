#include <stddef.h>
#include "tables.h"

const struct city cities[] = {
    { "Paris", 2161 }, { "Berlin", 3645 }, { "Madrid", 3223 },
    { "Reykjavik", 131 },
};
const struct city *const cities_end = cities + sizeof cities / sizeof cities[0];
const char *const languages[] = { "French", "German", "Spanish", "Icelandic" };
const char *const *const language_table = languages;
static char words[] = "alpha\0beta\0gamma";
const char *word_ptrs[] = { words, words + 6, words + 11 };
static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz";
const char *const alphabet_mid = alphabet + 12;
