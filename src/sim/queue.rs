//! The event queue: a binary heap keyed `(time, seq)`, so events at the same millisecond fire
//! in the order they were scheduled.
//!
//! The heap is our own rather than `std::collections::BinaryHeap`: std's `push` writes the new
//! entry into the vector and reads it straight back to sift it up, and that read of an entry
//! just written by narrower stores misses store-to-load forwarding (perf showed it as the
//! hottest instruction of the engine). Here the entry being placed stays in registers and is
//! written once, where it lands.

use crate::model::SimTime;

#[derive(Clone, Copy, Debug)]
struct Entry<E> {
    time: u64,
    seq: u64,
    ev: E,
}

impl<E> Entry<E> {
    /// Fires before `o`.
    #[inline(always)]
    fn before(&self, o: &Self) -> bool {
        (self.time, self.seq) < (o.time, o.seq)
    }
}

/// A min-heap of entries by `(time, seq)`.
#[derive(Debug)]
struct Heap<E> {
    v: Vec<Entry<E>>,
}

impl<E: Copy> Heap<E> {
    #[inline]
    fn push(&mut self, e: Entry<E>) {
        let mut i = self.v.len();
        self.v.push(e);
        while i > 0 {
            let p = (i - 1) / 2;
            let parent = self.v[p];
            if !e.before(&parent) {
                break;
            }
            self.v[i] = parent;
            i = p;
        }
        self.v[i] = e;
    }

    #[inline]
    fn pop(&mut self) -> Option<Entry<E>> {
        let last = self.v.pop()?;
        let n = self.v.len();
        if n == 0 {
            return Some(last);
        }
        let top = self.v[0];
        let mut i = 0;
        loop {
            let l = 2 * i + 1;
            if l >= n {
                break;
            }
            let r = l + 1;
            let c = if r < n && self.v[r].before(&self.v[l]) {
                r
            } else {
                l
            };
            let child = self.v[c];
            if !child.before(&last) {
                break;
            }
            self.v[i] = child;
            i = c;
        }
        self.v[i] = last;
        Some(top)
    }

    #[inline]
    fn peek(&self) -> Option<&Entry<E>> {
        self.v.first()
    }

    fn len(&self) -> usize {
        self.v.len()
    }
}

/// A deterministic future-event list. Besides the heap it has *lanes*: a lane holds at most
/// one pending event (each flow's next arrival), kept out of the heap and merged at pop by
/// the same `(time, seq)` order, so the order is exactly the heap's.
#[derive(Debug)]
pub struct EventQueue<E> {
    heap: Heap<E>,
    seq: u64,
    lanes: Vec<Option<Entry<E>>>,
    /// The lane holding the earliest `(time, seq)`, if any lane is occupied.
    first_lane: Option<usize>,
}

impl<E: Copy> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        EventQueue {
            heap: Heap {
                v: Vec::with_capacity(256),
            },
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
    fn the_heap_pops_in_time_then_scheduling_order() {
        // against a sort, on pseudo-random times with many ties and pops between pushes
        let mut q = EventQueue::new();
        let mut expect: Vec<(u64, u64)> = Vec::new();
        let mut got: Vec<(u64, u64)> = Vec::new();
        let mut x = 7u64;
        let mut n = 0u64;
        let mut floor = 0u64;
        for round in 0..2000u64 {
            x = crate::sim::rng::mix(x);
            let t = floor + x % 50;
            n += 1;
            q.push(SimTime(t), n);
            expect.push((t, n));
            if round % 3 == 2 {
                let (t, id) = q.pop().unwrap();
                floor = t.0;
                got.push((t.0, id));
            }
        }
        while let Some((t, id)) = q.pop() {
            got.push((t.0, id));
        }
        expect.sort();
        assert_eq!(got, expect);
    }

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
