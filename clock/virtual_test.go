package clock

import (
	"reflect"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2000, 2, 17, 0, 0, 0, 0, time.UTC)

func TestVirtualOrderAndFIFO(t *testing.T) {
	v := NewVirtual(t0)
	var got []string
	at := map[string]time.Duration{}
	add := func(name string, d time.Duration) {
		v.AfterFunc(d, func() {
			got = append(got, name)
			at[name] = v.Now().Sub(t0)
		})
	}
	add("c", 300*time.Millisecond)
	add("a1", 100*time.Millisecond)
	add("b", 200*time.Millisecond)
	add("a2", 100*time.Millisecond)
	add("a3", 100*time.Millisecond)
	add("late", time.Second)
	v.Advance(500 * time.Millisecond)
	want := []string{"a1", "a2", "a3", "b", "c"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	if at["b"] != 200*time.Millisecond || at["c"] != 300*time.Millisecond {
		t.Fatalf("callbacks saw times %v", at)
	}
	if v.Now().Sub(t0) != 500*time.Millisecond {
		t.Fatalf("now = %v", v.Now().Sub(t0))
	}
	if v.Pending() != 1 {
		t.Fatalf("pending %d, want 1", v.Pending())
	}
	next, ok := v.Next()
	if !ok || next.Sub(t0) != time.Second {
		t.Fatalf("next = %v %v", next, ok)
	}
}

func TestVirtualStopReset(t *testing.T) {
	v := NewVirtual(t0)
	fired := 0
	tm := v.AfterFunc(time.Second, func() { fired++ })
	if !tm.Stop() {
		t.Fatal("Stop of pending timer returned false")
	}
	if tm.Stop() {
		t.Fatal("second Stop returned true")
	}
	v.Advance(2 * time.Second)
	if fired != 0 {
		t.Fatal("stopped timer fired")
	}
	if tm.Reset(time.Second) {
		t.Fatal("Reset of stopped timer reported active")
	}
	v.Advance(999 * time.Millisecond)
	if fired != 0 {
		t.Fatal("fired early")
	}
	if !tm.Reset(time.Second) { // now due at 3.999 s
		t.Fatal("Reset of pending timer reported inactive")
	}
	v.Advance(999 * time.Millisecond)
	if fired != 0 {
		t.Fatal("Reset did not postpone")
	}
	v.Advance(time.Millisecond)
	if fired != 1 {
		t.Fatalf("fired %d, want 1", fired)
	}
	if tm.Stop() {
		t.Fatal("Stop after firing returned true")
	}
}

// Resetting moves a timer behind others with the same deadline (FIFO by
// scheduling time, as a fresh AfterFunc would).
func TestVirtualResetFIFO(t *testing.T) {
	v := NewVirtual(t0)
	var got []int
	a := v.AfterFunc(time.Second, func() { got = append(got, 1) })
	v.AfterFunc(time.Second, func() { got = append(got, 2) })
	a.Reset(time.Second)
	v.Advance(time.Second)
	if !reflect.DeepEqual(got, []int{2, 1}) {
		t.Fatalf("got %v", got)
	}
}

func TestVirtualTimersFromCallbacks(t *testing.T) {
	v := NewVirtual(t0)
	var times []time.Duration
	var tick func()
	var tm Timer
	tick = func() {
		times = append(times, v.Now().Sub(t0))
		if len(times) < 5 {
			tm.Reset(200 * time.Millisecond) // periodic timer re-armed from its own callback
		}
	}
	tm = v.AfterFunc(200*time.Millisecond, tick)
	// Zero-delay timer scheduled from a callback runs within the same Advance.
	zero := false
	v.AfterFunc(300*time.Millisecond, func() {
		v.AfterFunc(0, func() { zero = v.Now().Sub(t0) == 300*time.Millisecond })
	})
	v.Advance(time.Second)
	want := []time.Duration{200e6, 400e6, 600e6, 800e6, 1000e6}
	if !reflect.DeepEqual(times, want) {
		t.Fatalf("ticks %v, want %v", times, want)
	}
	if !zero {
		t.Fatal("zero-delay timer from callback did not run at its parent's time")
	}
	if v.Pending() != 0 {
		t.Fatalf("pending %d", v.Pending())
	}
}

// A callback may stop a timer due at the same instant; it then never runs.
func TestVirtualStopFromCallback(t *testing.T) {
	v := NewVirtual(t0)
	ran := false
	var b Timer
	v.AfterFunc(time.Second, func() { b.Stop() })
	b = v.AfterFunc(time.Second, func() { ran = true })
	v.Advance(time.Second)
	if ran {
		t.Fatal("timer stopped by an earlier callback still ran")
	}
}

func TestVirtualStep(t *testing.T) {
	v := NewVirtual(t0)
	if v.Step() {
		t.Fatal("Step with no timers returned true")
	}
	n := 0
	v.AfterFunc(3*time.Second, func() { n++ })
	v.AfterFunc(time.Hour, func() { n++ })
	if !v.Step() || n != 1 || v.Now().Sub(t0) != 3*time.Second {
		t.Fatalf("after Step: n=%d now=%v", n, v.Now().Sub(t0))
	}
	if !v.Step() || n != 2 || v.Now().Sub(t0) != time.Hour {
		t.Fatalf("after 2nd Step: n=%d now=%v", n, v.Now().Sub(t0))
	}
	v.AdvanceTo(t0) // never backwards
	if v.Now().Sub(t0) != time.Hour {
		t.Fatal("AdvanceTo went backwards")
	}
}

func TestVirtualSleepAfter(t *testing.T) {
	v := NewVirtual(t0)
	var wg sync.WaitGroup
	woke := make([]time.Duration, 3)
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v.Sleep(time.Duration(i+1) * time.Second)
			woke[i] = v.Now().Sub(t0)
		}()
	}
	v.BlockUntil(3) // all three goroutines are asleep
	ch := v.After(10 * time.Second)
	v.Advance(3 * time.Second)
	wg.Wait()
	for i, w := range woke {
		if w < time.Duration(i+1)*time.Second {
			t.Fatalf("sleeper %d woke at %v", i, w)
		}
	}
	select {
	case <-ch:
		t.Fatal("After fired early")
	default:
	}
	v.Advance(7 * time.Second)
	if got := (<-ch).Sub(t0); got != 10*time.Second {
		t.Fatalf("After delivered %v", got)
	}
}

// Hammer the clock from several goroutines (run with -race).
func TestVirtualConcurrent(t *testing.T) {
	v := NewVirtual(t0)
	var mu sync.Mutex
	fired, want := 0, 0
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				tm := v.AfterFunc(time.Duration(i%7+g)*time.Millisecond, func() {
					mu.Lock()
					fired++
					mu.Unlock()
				})
				// The advancing goroutine may fire a timer before Stop or
				// Reset reaches it: count what each call says happened.
				n := 1
				if i%5 == 0 && tm.Stop() {
					n = 0
				} else if i%5 == 1 && !tm.Reset(time.Millisecond) {
					n = 2 // fired already, and armed again
				}
				mu.Lock()
				want += n
				mu.Unlock()
				_ = v.Now()
			}
		}()
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				v.Advance(time.Millisecond)
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-done
	v.Advance(time.Minute)
	if fired != want {
		t.Fatalf("fired %d, want %d", fired, want)
	}
}

func TestRealClock(t *testing.T) {
	var c Clock = Real{}
	ch := make(chan struct{})
	c.AfterFunc(time.Millisecond, func() { close(ch) })
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("real timer did not fire")
	}
	tm := c.AfterFunc(time.Hour, func() {})
	if !tm.Stop() {
		t.Fatal("Stop of pending real timer returned false")
	}
}
