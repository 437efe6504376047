// Importing an address space from /proc/PID/maps or smaps text (Linux's own layout, captured).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "base/ref.hpp"
#include "file/inode.hpp"
#include "vmspace/result.hpp"

namespace vmspace {

class AddressSpace;

// Opens a file a mapping names (read-only), to back the imported mapping.
using FileOpener = std::function<Result<Ref<OpenFile>>(const std::string &path)>;

// Replaces mm's layout by the one `text` describes (maps or smaps lines; "brk START [CUR]" and
// "mm FIELD VALUE" lines). File mappings show the recorded device, inode and path and are
// backed by open_file(path) where that succeeds. Takes mm.mmap_lock. False with "line:col:
// message" in *error, mm unchanged.
bool import_layout(AddressSpace &mm, std::string_view text, const FileOpener &open_file,
                   std::string *error);

}  // namespace vmspace
