//! A garbage collector's resumable pass over one ordered set (a
//! collection's records, or one index's entries), and whether the last
//! whole pass left nothing to reclaim.
//!
//! A collection counts its *changes* (commits, aborts, installed versions,
//! index builds: everything that may leave garbage behind), each counted
//! only after it is visible. Creating a record is not one: its creator sets
//! an intent at once, and that intent's commit or abort is. A pass that starts from the beginning at change
//! count `c`, finds everything it visits settled, and ends with the count
//! still `c` proves the set clean at `c`: nothing will be reclaimable until
//! the count moves, so the collector skips it until then. An idle database
//! then costs the collector nothing, however large it is.
//!
//! A skipped sweep only keeps garbage longer, never drops what a reader
//! may need: a missed change could delay reclamation, not break a read.

/// The state of the sweep of one set whose cursor has type `C`.
#[derive(Debug)]
pub struct Sweep<C> {
    /// Where the next batch resumes: the last item visited, `None` to
    /// start over.
    pub cursor: Option<C>,
    /// The change count when the pass under way began at the start, if it
    /// did and it may still prove the set clean.
    pass_from: Option<u64>,
    /// The change count at which a whole pass found everything settled.
    clean_at: Option<u64>,
}

impl<C> Default for Sweep<C> {
    fn default() -> Sweep<C> {
        Sweep {
            cursor: None,
            pass_from: None,
            clean_at: None,
        }
    }
}

impl<C> Sweep<C> {
    /// Whether the last whole pass proved the set clean at `changes`.
    pub fn is_clean(&self, changes: u64) -> bool {
        self.clean_at == Some(changes)
    }

    /// Called before each batch, with the collection's change count and
    /// whether a pass begun now may prove anything (an index's pass can
    /// only once its records are clean).
    pub fn begin_batch(&mut self, changes: u64, may_prove: bool) {
        if self.cursor.is_none() {
            self.pass_from = may_prove.then_some(changes);
        }
    }

    /// Something visited was not settled (or was reclaimed): this pass
    /// proves nothing.
    pub fn unsettled(&mut self) {
        self.pass_from = None;
    }

    /// Called when a batch reached the end of the set, with the change
    /// count read after its last visit.
    pub fn end_pass(&mut self, changes: u64) {
        if self.pass_from == Some(changes) {
            self.clean_at = Some(changes);
        }
        self.pass_from = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_whole_settled_pass_without_changes_proves_a_set_clean() {
        // A settled pass from the start, with no change meanwhile.
        let mut sweep = Sweep::<u32>::default();
        sweep.begin_batch(5, true);
        sweep.cursor = Some(1);
        sweep.begin_batch(5, true);
        sweep.end_pass(5);
        sweep.cursor = None;
        assert!(sweep.is_clean(5));
        assert!(!sweep.is_clean(6), "a change makes it dirty again");

        // A change during the pass.
        let mut sweep = Sweep::<u32>::default();
        sweep.begin_batch(5, true);
        sweep.end_pass(6);
        assert!(!sweep.is_clean(5) && !sweep.is_clean(6));

        // Something unsettled.
        let mut sweep = Sweep::<u32>::default();
        sweep.begin_batch(5, true);
        sweep.unsettled();
        sweep.end_pass(5);
        assert!(!sweep.is_clean(5));

        // A pass begun mid-way, or one that may not prove anything.
        let mut sweep = Sweep::<u32> {
            cursor: Some(3),
            ..Sweep::default()
        };
        sweep.begin_batch(5, true);
        sweep.end_pass(5);
        assert!(!sweep.is_clean(5));
        let mut sweep = Sweep::<u32>::default();
        sweep.begin_batch(5, false);
        sweep.end_pass(5);
        assert!(!sweep.is_clean(5));
    }
}
