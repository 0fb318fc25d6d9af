//! A tiny pure scheduler: frames waiting for their delivery time.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Items ordered by delivery time; items due at the same nanosecond come out in
/// the order they were pushed (so a duplicate follows its original, and frames
/// with equal times are never swapped).
#[derive(Debug)]
pub struct DelayLine<T> {
    heap: BinaryHeap<Entry<T>>,
    seq: u64,
}

#[derive(Debug)]
struct Entry<T> {
    at_ns: u64,
    seq: u64,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.at_ns == other.at_ns && self.seq == other.seq
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    /// Reversed, so the max-heap pops the earliest (time, sequence) first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at_ns, other.seq).cmp(&(self.at_ns, self.seq))
    }
}

impl<T> Default for DelayLine<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> DelayLine<T> {
    pub fn new() -> Self {
        DelayLine {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }

    /// Queues `item` for delivery at `at_ns`.
    pub fn push(&mut self, at_ns: u64, item: T) {
        let seq = self.seq;
        self.seq += 1;
        self.heap.push(Entry { at_ns, seq, item });
    }

    /// The earliest item whose time is `<= now_ns`, if any.
    pub fn pop_due(&mut self, now_ns: u64) -> Option<T> {
        if self.heap.peek()?.at_ns <= now_ns {
            self.heap.pop().map(|e| e.item)
        } else {
            None
        }
    }

    /// When the next item falls due (for the caller's sleep/poll timeout).
    pub fn next_due(&self) -> Option<u64> {
        self.heap.peek().map(|e| e.at_ns)
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_order_then_push_order() {
        let mut d = DelayLine::new();
        d.push(30, "c");
        d.push(10, "a1");
        d.push(20, "b");
        d.push(10, "a2");
        assert_eq!(d.len(), 4);
        assert_eq!(d.next_due(), Some(10));
        assert_eq!(d.pop_due(5), None);
        assert_eq!(d.pop_due(10), Some("a1"));
        assert_eq!(d.pop_due(10), Some("a2"));
        assert_eq!(d.pop_due(10), None);
        assert_eq!(d.pop_due(100), Some("b"));
        assert_eq!(d.pop_due(100), Some("c"));
        assert_eq!(d.pop_due(100), None);
        assert!(d.is_empty());
        assert_eq!(d.next_due(), None);
    }
}
