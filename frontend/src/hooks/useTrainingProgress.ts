/** Training progress from /rl/ws/training, a bounded history of the current run. */
import { useRef, useState } from "react";
import { RingBuffer } from "../lib/ringBuffer";
import type { TrainingProgressMessage } from "../lib/messages";
import { type StreamStatus, useStream } from "./useStream";

export type Progress = TrainingProgressMessage["data"];
export const PROGRESS_HISTORY = 1000;

export function useTrainingProgress(): { history: Progress[]; status: StreamStatus } {
  const buffer = useRef(new RingBuffer<Progress>(PROGRESS_HISTORY));
  const [history, setHistory] = useState<Progress[]>([]);
  const status = useStream("/rl/ws/training", {}, (message) => {
    if (message.type !== "training_progress") return;
    const progress = message.data as Progress;
    const last = buffer.current.toArray().at(-1);
    if (last && last.model_id !== progress.model_id) buffer.current.clear(); // a new run
    buffer.current.push(progress);
    setHistory(buffer.current.toArray());
  });
  return { history, status };
}
