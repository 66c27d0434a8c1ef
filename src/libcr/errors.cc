// cr_strerror(): BLCR's texts for its own errno values, strerror() for the rest.
#include <libcr.h>
#include <string.h>

namespace {

// The same X-macro list that builds the CR_E* enum in blcr_common.h, included a second
// time for the texts (as BLCR did).
#define CR_ERROR_DEF(name, text) text,
constexpr const char* kTexts[] = {
#include <blcr_errcodes.h>
};

static_assert(sizeof(kTexts) / sizeof(kTexts[0]) == CR_MAX_ERRCODE - CR_MIN_ERRCODE - 1,
              "blcr_errcodes.h and CR_MAX_ERRCODE disagree");

}  // namespace

extern "C" const char* cr_strerror(int errnum) {
  if (errnum > CR_MIN_ERRCODE && errnum < CR_MAX_ERRCODE) return kTexts[errnum - CR_MIN_ERRCODE - 1];
  return strerror(errnum);
}
