/** Small helpers the views share. */
import { onBeforeUnmount, onMounted, ref, type Ref } from 'vue'
import { ApiError } from './api/client'
import { localMessage } from './i18n'

/** Run ``task`` now and every ``ms`` while the component is mounted (skips overlaps). */
export function usePolling(task: () => Promise<unknown>, ms: number): { busy: Ref<boolean>; run: () => Promise<void> } {
  const busy = ref(false)
  let timer: ReturnType<typeof setInterval> | null = null
  async function run(): Promise<void> {
    if (busy.value) return
    busy.value = true
    try {
      await task()
    } finally {
      busy.value = false
    }
  }
  onMounted(() => {
    void run()
    timer = setInterval(() => {
      if (document.visibilityState !== 'hidden') void run()
    }, ms)
  })
  onBeforeUnmount(() => {
    if (timer) clearInterval(timer)
  })
  return { busy, run }
}

/** The reason of a failure, in the reader's language. */
export function reasonOf(exc: unknown): string {
  if (exc instanceof ApiError) return localMessage(exc.detail)
  return exc instanceof Error ? exc.message : String(exc)
}

/** True on a phone-sized screen (<= 420 px), following resizes. */
export function useNarrow(): Ref<boolean> {
  const query = window.matchMedia('(max-width: 420px)')
  const narrow = ref(query.matches)
  const update = (event: MediaQueryListEvent) => {
    narrow.value = event.matches
  }
  onMounted(() => query.addEventListener('change', update))
  onBeforeUnmount(() => query.removeEventListener('change', update))
  return narrow
}
