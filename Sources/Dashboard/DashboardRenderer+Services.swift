import Shop
import Terminal

/// The Services pane (key `m`): every service registered where the log lives (see
/// ``ServiceRegistry``), the command service with its rate and p99, each query service with
/// its views, checkpoint and lag, and a service whose heartbeat stopped shown as DOWN. It is
/// drawn over the lower part of the pane area, sized to its rows; `z` zooms it to the whole
/// pane area. It only draws ``DashboardSnapshot/services``, which a thread of the data source
/// reads from the registry: nothing here waits on a file or the network.
extension DashboardRenderer {
    func drawServices(_ s: DashboardSnapshot, ui: DashboardUI, area: Rect, into grid: inout CellGrid) {
        guard area.width >= 20, area.height >= 4 else { return }
        let rows = max(1, s.services.count) + 1
        let height = ui.zoomed ? area.height : min(area.height, rows + 2)
        let rect = Rect(x: area.x, y: area.maxY - height, width: area.width, height: height)
        grid.fill(rect)
        let down = s.services.filter { $0.isDown(nowMillis: s.servicesReadMillis) }.count
        var title = "Services  \(s.services.count - down) up"
        if down > 0 { title += ", \(down) down" }
        if ui.zoomed { title += "  [zoom]" }
        grid.box(rect, glyphs: glyphs, style: borderStyle(focused: true, highlighted: false), title: title,
                 titleStyle: titleStyle(focused: true, highlighted: false), heavy: true)
        let inner = Rect(x: rect.x + 2, y: rect.y + 1, width: rect.width - 4, height: rect.height - 2)
        guard !s.services.isEmpty else {
            grid.put("no services registered; start one: prism serve --http 127.0.0.1:8080, prism query --http 127.0.0.1:8081",
                     x: inner.x, y: inner.y, width: inner.width, style: CellStyle(.dim), ellipsis: glyphs.ellipsis)
            return
        }
        let header = Self.serviceColumns(["kind", "address", "pid", "state", "position", "lag", "rate", "p99 / views", "beat"], width: inner.width)
        grid.put(header, x: inner.x, y: inner.y, width: inner.width, style: CellStyle(.dim, attributes: [.bold]), ellipsis: glyphs.ellipsis)
        for (i, r) in s.services.prefix(inner.height - 1).enumerated() {
            let isDown = r.isDown(nowMillis: s.servicesReadMillis)
            let age = Double(max(0, s.servicesReadMillis - r.heartbeatMillis)) / 1000
            let detail = r.kind == "command" ? Format.milliseconds(r.p99Milliseconds) : r.views.joined(separator: ",")
            // A down service's last rate and lag are history, not state: not shown.
            let lag = r.kind == "command" || isDown ? "-" : "\(Format.grouped(r.lagEvents)) \(Format.milliseconds(r.lagMilliseconds))"
            let line = Self.serviceColumns(
                [r.kind, r.address.replacingOccurrences(of: "http://", with: ""), "\(r.pid)", isDown ? "DOWN" : "up",
                 Format.position(r.checkpoint), lag, isDown ? "-" : Format.rate(r.ratePerSecond), detail, Format.duration(age)],
                width: inner.width)
            let style = isDown ? CellStyle(.bad, attributes: [.bold]) : CellStyle(.text)
            grid.put(line, x: inner.x, y: inner.y + 1 + i, width: inner.width, style: style, ellipsis: glyphs.ellipsis)
        }
    }

    /// Fixed columns; the last ones are dropped first on a narrow screen (by the ellipsis).
    static func serviceColumns(_ cells: [String], width: Int) -> String {
        let widths = [8, 22, 8, 6, 11, 14, 8, 22, 6]
        var out = ""
        for (cell, w) in zip(cells, widths) { out += Format.column(String(cell.prefix(w - 1)), w) }
        return out
    }
}
