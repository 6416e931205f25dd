// Page ownership audit: the "no page leaked or double-owned" invariant of DESIGN.md §4, as a
// check that tests (and debug builds of the daemon) can run at any point between calls.
#pragma once

#include <span>

#include "common/status.h"
#include "kvpool/lane.h"
#include "kvpool/page_table.h"

namespace trimserve {

// Returns kInternal describing the first violation, else ok:
//  - the free list has no duplicates and only pages marked free;
//  - every page of every lane is owned by that (seq, lane) in the table, appears once overall,
//    and its fill equals the number of the lane's entries on it;
//  - each lane's len fits its pages;
//  - every page is either free or held by exactly one of `lanes` (none leaked).
Status check_page_invariants(const PageTable& table, std::span<const Lane* const> lanes);

}  // namespace trimserve
