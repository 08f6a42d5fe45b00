/** A uPlot canvas chart (built for streaming: one setData per update, no DOM per point). uPlot is
 *  loaded lazily, and not at all where there is no canvas (jsdom), where the caption still reads. */
import { useEffect, useRef } from "react";
import type uPlot from "uplot";

export interface ChartProps {
  label: string;
  summary: string;
  series: { label: string; stroke: string; fill?: string; stepped?: boolean }[];
  data: number[][]; // x first, one array per series after
  height?: number;
  xTime?: boolean;
  xLabel?: string;
}

const CAN_DRAW = typeof navigator !== "undefined" && !/jsdom/.test(navigator.userAgent);

export function Chart({ label, summary, series, data, height = 180, xTime = false, xLabel = "x" }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef(data);
  latest.current = data;
  const shape = JSON.stringify(series) + xTime + xLabel;

  useEffect(() => {
    if (!CAN_DRAW || !box.current) return undefined;
    let cancelled = false;
    let observer: ResizeObserver | null = null;
    void import("uplot").then(({ default: UPlot }) => {
      if (cancelled || !box.current) return;
      const element = box.current;
      const paths = UPlot.paths.stepped?.({ align: 1 });
      plot.current = new UPlot(
        {
          width: element.clientWidth || 300,
          height,
          scales: { x: { time: xTime } },
          legend: { show: true },
          series: [{ label: xLabel }, ...series.map((s) => ({ ...s, width: 2, points: { show: false }, paths: s.stepped ? paths : undefined }))],
          axes: [{ stroke: "#94a3b8" }, { stroke: "#94a3b8" }],
        },
        latest.current as uPlot.AlignedData,
        element,
      );
      observer = new ResizeObserver(() => plot.current?.setSize({ width: element.clientWidth, height }));
      observer.observe(element);
    });
    return () => {
      cancelled = true;
      observer?.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [shape, height]); // `shape` stands for series, xTime and xLabel: the plot is rebuilt only when they change

  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data]);

  return (
    <figure aria-label={label} className="w-full">
      <div ref={box} className="w-full" />
      <figcaption className="text-xs text-slate-500 dark:text-slate-400">{summary}</figcaption>
    </figure>
  );
}
