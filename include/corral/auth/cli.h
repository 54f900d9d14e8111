// `corral keys …`: create, list, set, revoke and rotate API keys in keys.db,
// with the server's --data-dir and --config (same precedence: flags >
// environment > file). Works while corral runs; a running corral applies the
// change within 2 s. Exit 0 done, 1 unknown key or store error, 2 bad input.
#pragma once

namespace corral::auth {

// argv[0] is "keys".
int keys_main(int argc, char** argv, char** envp);

}  // namespace corral::auth
