/*
 * link/tls.h — thread-local storage and STT_GNU_IFUNC in the link pipeline:
 * the hooks each stage calls (docs/tls.md tells the whole story).
 *
 *   resolve    rv_tls_add_runtime      bind __tls_get_addr to the executor's
 *              rv_tls_note_host        a thread-local of the executor's
 *                                      libraries: module, offset, static?
 *   passes     rv_ifunc_build          IFUNC stubs and their slots
 *              rv_tls_build            TLS GOT entries, template anchor
 *   layout     rv_tls_layout           reserve the template's block of the
 *                                      executor's static TLS arena; TLS
 *                                      blocks take their thread-pointer
 *                                      offsets as addresses
 *   fixup      rv_tls_edge_values      S and G of a TLS edge
 *   finalize   rv_tls_add_actions      register / unregister the template
 *              rv_ifunc_add_actions    run the resolvers into the slots
 *   free       rv_tls_free_link        give the arena block back
 */
#ifndef RIVET_LINK_TLS_H
#define RIVET_LINK_TLS_H

#include "link/link.h"

rivet_error *rv_tls_add_runtime(rivet_link *l);
/* resolve: `proxy` (RV_SYM_HOST | RV_SYM_TLS) stands for a thread-local of
 * the executor's libraries, described by `info` (strings are copied). */
struct rv_host_tls_info;
rivet_error *rv_tls_note_host(rivet_link *l, rv_symbol *proxy,
                              const struct rv_host_tls_info *info);
rivet_error *rv_tls_build(rivet_link *l);
rivet_error *rv_tls_layout(rivet_link *l);
/* For an edge whose kind needs RV_NEEDS_TLS: replace S and G by the
 * quantities the architecture's fixup expects (see arch/arch.h). */
rivet_error *rv_tls_edge_values(rivet_link *l, const rv_edge *e,
                                const rv_symbol *target, uint64_t *S,
                                uint64_t *G);
/* Append the link's action pair(s) at p[*count], advancing *count. */
rivet_error *rv_tls_add_actions(rivet_link *l, rivet_action_pair *p,
                                size_t *count);
void rv_tls_free_link(rivet_link *l);

rivet_error *rv_ifunc_build(rivet_link *l);
rivet_error *rv_ifunc_add_actions(rivet_link *l, rivet_action_pair *p,
                                  size_t *count);

#endif
