// The application's own action for CR_SIGNUM (issue 13, behaviour 4). BLCR's kernel forced
// libcr's handler for a checkpoint whatever the application had installed on CR_SIGNUM and
// put the application's back afterwards. crest has no kernel part, so libcr keeps its
// handler installed all along and shows the application a shadow: it exports sigaction()
// and signal(), which interpose on glibc's (a program linked with -lcr lists libcr before
// libc; cr_run preloads libcr_run), and for CR_SIGNUM, once a crest handler owns it, they
// read and write the shadow instead of the kernel's action. libcr's handler passes every
// CR_SIGNUM that is not part of a checkpoint to the shadow action (handler.cc), so the
// application's handler still runs for its own uses of the signal.
//
// With two crest libraries in one process the first in the global lookup order supplies
// sigaction() and its crsig_app_action; every copy's handler uses that one (resolved once
// by its constructor).
#include <dlfcn.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"

// glibc's own entry point, which nothing interposes on.
extern "C" int __sigaction(int sig, const struct sigaction* act, struct sigaction* old);
// glibc's signal() under another exported name (BSD semantics, honours siginterrupt()).
extern "C" __sighandler_t bsd_signal(int sig, __sighandler_t handler) __THROW;

extern "C" {
__attribute__((visibility("default"))) crest::libcr::AppAction crsig_app_action = {};
}

namespace crest::libcr {

namespace {
AppAction* shared = nullptr;  // this copy's view: the first copy's crsig_app_action
}

int kernel_sigaction(int sig, const struct sigaction* act, struct sigaction* old) {
  return __sigaction(sig, act, old);
}

AppAction* app_action() {
  if (!shared) {
    void* first = dlsym(RTLD_DEFAULT, "crsig_app_action");
    shared = first ? static_cast<AppAction*>(first) : &crsig_app_action;
  }
  return shared;
}

void pass_to_application(int sig, siginfo_t* info, void* context) {
  AppAction* a = shared;
  if (!a || !__atomic_load_n(&a->set, __ATOMIC_ACQUIRE)) return;  // never set: ignored, as before
  struct sigaction act = a->action;
  if (act.sa_flags & SA_RESETHAND) {
    a->action.sa_handler = SIG_DFL;
    a->action.sa_flags &= ~(SA_SIGINFO | SA_RESETHAND);
  }
  if (act.sa_flags & SA_SIGINFO) {
    if (act.sa_sigaction) act.sa_sigaction(sig, info, context);
  } else if (act.sa_handler == SIG_DFL) {
    // The default action of a real-time signal ends the process: give the kernel the
    // default and send the signal again; it arrives as this handler returns.
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    kernel_sigaction(sig, &dfl, nullptr);
    syscall(SYS_tgkill, sys_getpid(), sys_gettid(), sig);
  } else if (act.sa_handler != SIG_IGN) {
    act.sa_handler(sig);
  }
}

}  // namespace crest::libcr

using crest::libcr::AppAction;

extern "C" __attribute__((visibility("default"))) int sigaction(int sig, const struct sigaction* act,
                                                                struct sigaction* old) __THROW {
  AppAction* a = &crsig_app_action;  // this copy is the one interposing
  if (sig != crest::libcr::proto::kSignal || !__atomic_load_n(&a->crest_owns, __ATOMIC_ACQUIRE))
    return __sigaction(sig, act, old);
  if (old) {
    if (__atomic_load_n(&a->set, __ATOMIC_ACQUIRE)) {
      *old = a->action;
    } else {
      memset(old, 0, sizeof *old);
      old->sa_handler = SIG_DFL;
    }
  }
  if (act) {
    a->action = *act;
    __atomic_store_n(&a->set, 1, __ATOMIC_RELEASE);
  }
  return 0;
}

extern "C" __attribute__((visibility("default"))) __sighandler_t signal(int sig, __sighandler_t handler) __THROW {
  if (sig != crest::libcr::proto::kSignal) return bsd_signal(sig, handler);
  struct sigaction act, old;
  memset(&act, 0, sizeof act);
  act.sa_handler = handler;
  sigemptyset(&act.sa_mask);
  sigaddset(&act.sa_mask, sig);
  act.sa_flags = SA_RESTART;  // glibc's signal() has BSD semantics
  if (sigaction(sig, &act, &old) != 0) return SIG_ERR;
  return old.sa_handler;
}
