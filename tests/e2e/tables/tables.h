struct city { const char *name; int population; };
struct country {
    const char *name;
    const struct city *capital;
    const char *const *language;
    const struct country *const *neighbours;
};
struct node { const struct node *self; };
extern const struct country countries[];
extern const struct city cities[];
extern const struct city *const cities_end;
extern const char *const languages[];
extern const char *const *const language_table;
extern const char *word_ptrs[];
extern const char *const alphabet_mid;
extern const struct node self_ref;
extern const int *const matrix_rows[];
