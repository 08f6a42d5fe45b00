/** Training progress from /rl/ws/training, a bounded history of the current run, and how the
 *  last run ended (``training_finished``: the registry and status are refreshed at once). */
import { useQueryClient } from "@tanstack/react-query";
import { useRef, useState } from "react";
import { RingBuffer } from "../lib/ringBuffer";
import type { TrainingFinishedMessage, TrainingProgressMessage } from "../lib/messages";
import { type StreamStatus, useStream } from "./useStream";

export type Progress = TrainingProgressMessage["data"];
export type Finished = TrainingFinishedMessage["data"];
export const PROGRESS_HISTORY = 1000;

export function useTrainingProgress(): { history: Progress[]; finished: Finished | null; status: StreamStatus } {
  const buffer = useRef(new RingBuffer<Progress>(PROGRESS_HISTORY));
  const [history, setHistory] = useState<Progress[]>([]);
  const [finished, setFinished] = useState<Finished | null>(null);
  const client = useQueryClient();
  const status = useStream("/rl/ws/training", {}, (message) => {
    if (message.type === "training_finished") {
      setFinished(message.data);
      void client.invalidateQueries();
      return;
    }
    if (message.type !== "training_progress") return; // a kind this page does not know yet
    const progress = message.data;
    const last = buffer.current.toArray().at(-1);
    if (last && last.model_id !== progress.model_id) buffer.current.clear(); // a new run
    buffer.current.push(progress);
    setHistory(buffer.current.toArray());
  });
  return { history, finished, status };
}
