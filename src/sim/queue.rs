//! The event queue: a binary heap keyed `(time, seq)`, so events at the same millisecond fire
//! in the order they were scheduled.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::model::SimTime;

#[derive(Clone, Copy, Debug)]
struct Entry<E> {
    time: u64,
    seq: u64,
    ev: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, o: &Self) -> bool {
        self.time == o.time && self.seq == o.seq
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<E> Ord for Entry<E> {
    // reversed: BinaryHeap is a max-heap and we pop the earliest
    fn cmp(&self, o: &Self) -> Ordering {
        (o.time, o.seq).cmp(&(self.time, self.seq))
    }
}

/// A deterministic future-event list. Besides the heap it has *lanes*: a lane holds at most
/// one pending event (each flow's next arrival), kept out of the heap and merged at pop by
/// the same `(time, seq)` order, so the order is exactly the heap's.
#[derive(Debug)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    seq: u64,
    lanes: Vec<Option<Entry<E>>>,
    /// The lane holding the earliest `(time, seq)`, if any lane is occupied.
    first_lane: Option<usize>,
}

impl<E: Copy> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(256),
            seq: 0,
            lanes: Vec::new(),
            first_lane: None,
        }
    }

    /// Schedules `ev` at `time` in lane `lane` (which must be empty: a lane holds one event);
    /// it fires in the same `(time, seq)` order as if it were in the heap.
    #[inline]
    pub fn push_lane(&mut self, lane: usize, time: SimTime, ev: E) {
        self.seq += 1;
        if self.lanes.len() <= lane {
            self.lanes.resize_with(lane + 1, || None);
        }
        debug_assert!(
            self.lanes[lane].is_none(),
            "lane {lane} already holds an event"
        );
        self.lanes[lane] = Some(Entry {
            time: time.0,
            seq: self.seq,
            ev,
        });
        self.find_first_lane();
    }

    fn find_first_lane(&mut self) {
        self.first_lane = self
            .lanes
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().map(|e| (e.time, e.seq, i)))
            .min()
            .map(|x| x.2);
    }
    /// Schedules `ev` at `time`; ties fire in scheduling order.
    #[inline]
    pub fn push(&mut self, time: SimTime, ev: E) {
        self.seq += 1;
        self.heap.push(Entry {
            time: time.0,
            seq: self.seq,
            ev,
        });
    }
    /// Removes and returns the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        if let Some(l) = self.first_lane
            && let Some(lane) = self.lanes[l]
            && self
                .heap
                .peek()
                .is_none_or(|h| (lane.time, lane.seq) < (h.time, h.seq))
        {
            self.lanes[l] = None;
            self.find_first_lane();
            return Some((SimTime(lane.time), lane.ev));
        }
        self.heap.pop().map(|e| (SimTime(e.time), e.ev))
    }
    /// The time of the earliest event.
    pub fn peek_time(&self) -> Option<SimTime> {
        let lane = self
            .first_lane
            .and_then(|l| self.lanes[l].as_ref())
            .map(|e| e.time);
        let heap = self.heap.peek().map(|e| e.time);
        match (lane, heap) {
            (Some(a), Some(b)) => Some(SimTime(a.min(b))),
            (a, b) => a.or(b).map(SimTime),
        }
    }
    /// Events pending.
    pub fn len(&self) -> usize {
        self.heap.len() + self.lanes.iter().filter(|l| l.is_some()).count()
    }
    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<E: Copy> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_keep_insertion_order() {
        let mut q = EventQueue::new();
        q.push(SimTime(5), 'b');
        q.push(SimTime(1), 'a');
        q.push(SimTime(5), 'c');
        q.push(SimTime(5), 'd');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|x| x.1)).collect();
        assert_eq!(order, vec!['a', 'b', 'c', 'd']);
    }

    #[test]
    fn lanes_fire_in_the_heaps_order() {
        let mut q = EventQueue::new();
        q.push(SimTime(5), 'b');
        q.push_lane(1, SimTime(5), 'c');
        q.push_lane(0, SimTime(1), 'a');
        q.push(SimTime(5), 'd');
        q.push_lane(2, SimTime(7), 'f');
        q.push(SimTime(6), 'e');
        assert_eq!(q.len(), 6);
        assert_eq!(q.peek_time(), Some(SimTime(1)));
        let mut order = Vec::new();
        while let Some((t, v)) = q.pop() {
            order.push(v);
            // a lane refilled after its pop still sorts by the new scheduling order
            if v == 'a' {
                q.push_lane(0, t.plus(SimTime(4)), 'x');
            }
        }
        assert_eq!(order, vec!['a', 'b', 'c', 'd', 'x', 'e', 'f']);
        assert!(q.is_empty());
    }
}
