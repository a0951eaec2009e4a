/* A stand-in for WeCom's libWeWorkFinanceSdk_C.so, built by the tests (tests/archive/sdk.py).
 *
 * Same functions and signatures as WeWorkFinanceSdk_C.h. GetChatData serves the items of a script
 * file named by the environment variable DRAFTBOT_FAKE_ARCHIVE (read again at every call), one per line:
 *
 *     item <seq> <the item's JSON on one line>    an item as GetChatData returns it
 *     error <call> <code>                          the call-th GetChatData (0-based, per process) returns code
 *     delay <milliseconds>                         every GetChatData waits this long first
 *     secret <text>                                Init refuses (10000) any other secret
 *
 * DecryptData's cipher stands in for WeCom's: encrypt_chat_msg is base64 of ("FAKE:" + message JSON)
 * XORed with encrypt_key repeated; a wrong key leaves no "FAKE:" prefix and answers 10006.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct WeWorkFinanceSdk_t { int initialised; } WeWorkFinanceSdk_t;
typedef struct Slice_t { char* buf; int len; } Slice_t;
typedef struct MediaData { char* outindexbuf; int out_len; char* data; int data_len; int is_finish; } MediaData_t;

static int calls = 0;

static void put(Slice_t* slice, const char* data, int len) {
    free(slice->buf);
    slice->buf = malloc(len + 1);
    memcpy(slice->buf, data, len);
    slice->buf[len] = 0;
    slice->len = len;
}

static FILE* script(void) {
    const char* path = getenv("DRAFTBOT_FAKE_ARCHIVE");
    return path ? fopen(path, "r") : NULL;
}

WeWorkFinanceSdk_t* NewSdk(void) { return calloc(1, sizeof(WeWorkFinanceSdk_t)); }

void DestroySdk(WeWorkFinanceSdk_t* sdk) { free(sdk); }

Slice_t* NewSlice(void) { return calloc(1, sizeof(Slice_t)); }

void FreeSlice(Slice_t* slice) { if (slice) { free(slice->buf); free(slice); } }

char* GetContentFromSlice(Slice_t* slice) { return slice->buf; }

int GetSliceLen(Slice_t* slice) { return slice->len; }

int FakeCalls(void) { return calls; }

int Init(WeWorkFinanceSdk_t* sdk, const char* corpid, const char* secret) {
    if (!sdk || !corpid || !*corpid || !secret || !*secret) return 10000;
    FILE* f = script();
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "secret ", 7) == 0) {
                line[strcspn(line, "\r\n")] = 0;
                if (strcmp(line + 7, secret) != 0) { fclose(f); return 10000; }
            }
        }
        fclose(f);
    }
    sdk->initialised = 1;
    return 0;
}

int GetChatData(WeWorkFinanceSdk_t* sdk, unsigned long long seq, unsigned int limit,
                const char* proxy, const char* passwd, int timeout, Slice_t* chatDatas) {
    (void)proxy; (void)passwd;
    int call = calls++;
    if (!sdk || !sdk->initialised || !chatDatas || limit == 0 || limit > 1000 || timeout <= 0) return 10000;
    FILE* f = script();
    if (!f) return 10001;
    size_t cap = 1 << 16, used = 0;
    char* out = malloc(cap);
    used += sprintf(out, "{\"errcode\":0,\"errmsg\":\"ok\",\"chatdata\":[");
    unsigned int count = 0;
    long delay = 0;
    int code = 0;
    static char line[1 << 20];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (strncmp(line, "delay ", 6) == 0) { delay = atol(line + 6); continue; }
        if (strncmp(line, "error ", 6) == 0) {
            int when = 0, what = 0;
            if (sscanf(line + 6, "%d %d", &when, &what) == 2 && when == call) code = what;
            continue;
        }
        if (strncmp(line, "item ", 5) != 0) continue;
        char* rest = NULL;
        unsigned long long item_seq = strtoull(line + 5, &rest, 10);
        if (item_seq <= seq || count >= limit || !rest) continue;
        while (*rest == ' ') rest++;
        size_t n = strlen(rest);
        while (used + n + 8 > cap) { cap *= 2; out = realloc(out, cap); }
        if (count++) out[used++] = ',';
        memcpy(out + used, rest, n);
        used += n;
    }
    fclose(f);
    if (delay > 0) {
        struct timespec wait = { delay / 1000, (delay % 1000) * 1000000L };
        nanosleep(&wait, NULL);
    }
    if (code) { free(out); return code; }
    used += sprintf(out + used, "]}");
    put(chatDatas, out, (int)used);
    free(out);
    return 0;
}

static int b64value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

int DecryptData(const char* encrypt_key, const char* encrypt_msg, Slice_t* msg) {
    if (!encrypt_key || !*encrypt_key || !encrypt_msg || !msg) return 10000;
    size_t n = strlen(encrypt_msg), keylen = strlen(encrypt_key), len = 0;
    unsigned char* plain = malloc(n + 1);
    unsigned int bits = 0; int have = 0;
    for (size_t i = 0; i < n; i++) {
        if (encrypt_msg[i] == '=') break;
        int v = b64value(encrypt_msg[i]);
        if (v < 0) { free(plain); return 10006; }
        bits = (bits << 6) | (unsigned)v; have += 6;
        if (have >= 8) { have -= 8; plain[len++] = (unsigned char)((bits >> have) & 0xff); }
    }
    for (size_t i = 0; i < len; i++) plain[i] ^= (unsigned char)encrypt_key[i % keylen];
    if (len < 5 || memcmp(plain, "FAKE:", 5) != 0) { free(plain); return 10006; }
    put(msg, (char*)plain + 5, (int)(len - 5));
    free(plain);
    return 0;
}

int GetMediaData(WeWorkFinanceSdk_t* sdk, const char* indexbuf, const char* sdkFileid, const char* proxy,
                 const char* passwd, int timeout, MediaData_t* media_data) {
    (void)sdk; (void)indexbuf; (void)sdkFileid; (void)proxy; (void)passwd; (void)timeout; (void)media_data;
    return 10005;
}
