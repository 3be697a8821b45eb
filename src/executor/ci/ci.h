/*
 * executor/ci/ci.h — the SPS controller interface: wrapper and action
 * functions that decode SPS arguments, call a service and encode its
 * result. The payload layouts are documented in docs/wire-protocol.md,
 * "Wrapper function payloads".
 *
 * Every wrapper answers with an SPS `expected` or `error`, never an
 * out-of-band failure, unless even the answer cannot be allocated.
 */
#ifndef RIVET_EXECUTOR_CI_H
#define RIVET_EXECUTOR_CI_H

#include "rivet/rt.h"
#include "rivet/sps.h"

/* Register each adapter's functions in the session's bootstrap table. */
rivet_error *rv_ci_sps_memory_map_register(rivet_session *s, rivet_memory_map *mm);
rivet_error *rv_ci_sps_dylib_register(rivet_session *s, rivet_dylib_manager *dm);
rivet_error *rv_ci_sps_unwind_register(rivet_session *s);
rivet_error *rv_ci_sps_program_register(rivet_session *s);
/* The JSON interface of the memory map (executor/ci_json/): the same
 * service under another encoding. */
rivet_error *rv_ci_json_memory_map_register(rivet_session *s);
rivet_error *rv_ci_sps_tls_register(rivet_session *s, rivet_service *tls);
rivet_error *rv_ci_sps_copy_reloc_register(rivet_session *s);

/* Send the writer's bytes as the result (an out-of-band error when the
 * writer ran out of memory). */
void rv_ci_return(rivet_wrapper_return_fn ret, void *ctx, uint64_t call_id,
                  rivet_sps_writer *w);
/* Answer an `expected` call with the failure e (consumed). */
void rv_ci_return_unexpected(rivet_wrapper_return_fn ret, void *ctx,
                             uint64_t call_id, rivet_error *e);
/* Answer an `error` call: success when e is NULL, else e (consumed). */
void rv_ci_return_error(rivet_wrapper_return_fn ret, void *ctx,
                        uint64_t call_id, rivet_error *e);
/* The service named `service` when `addr` is its announced instance address
 * (every service is the first member of its implementation, so the two
 * agree); otherwise NULL and *e says which call named what. Shared by every
 * encoding: the check does not depend on the bytes. */
rivet_service *rv_ci_instance(rivet_session *s, const char *service,
                              uint64_t addr, const char *call, rivet_error **e);
/* Begin answering an `expected` call: with a failure e (consumed), answer
 * it and return false; else start *w with the has-a-value flag and return
 * true, for the caller to add the value and rv_ci_return it. */
bool rv_ci_expected_begin(rivet_wrapper_return_fn ret, void *ctx,
                          uint64_t call_id, rivet_error *e, rivet_sps_writer *w);
/* Answer an `expected<u64>` call: the failure e (consumed) or value. */
void rv_ci_return_u64(rivet_wrapper_return_fn ret, void *ctx, uint64_t call_id,
                      rivet_error *e, uint64_t value);
/* Decode a payload that is exactly `n` u64s (most action arguments). */
bool rv_ci_get_u64s(const char *arg, size_t arg_size, uint64_t *out, size_t n);
/* The error for a payload that did not decode. */
rivet_error *rv_ci_malformed(const char *call);
/* Turn an action's outcome into its return value: NULL or a malloc'd
 * message (e consumed). */
char *rv_ci_action_result(rivet_error *e);

#endif
