/* aptnarrate HTML report: draws the timeline (Vega-Lite) and the entity graph (Cytoscape.js)
   from the JSON block #aptnarrate-data. Data strings only ever reach the page as text
   (textContent, canvas labels, Vega text marks), never as markup. Status for tests:
   body[data-timeline] and body[data-graph] become "rendered" or "failed". */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("aptnarrate-data").textContent);
  var body = document.body;

  function highlight(rows) {
    var old = document.querySelectorAll("tr.hit");
    for (var i = 0; i < old.length; i++) old[i].classList.remove("hit");
    var first = null;
    rows.forEach(function (id) {
      var row = document.getElementById("row-" + id);
      if (row) { row.classList.add("hit"); first = first || row; }
    });
    return first;
  }

  function showSelection(what, name, rows, total) {
    var box = document.getElementById("selection");
    box.textContent = "";
    var label = document.createElement("bdi");
    label.textContent = name;
    box.appendChild(document.createTextNode(what + " "));
    box.appendChild(label);
    box.appendChild(document.createTextNode(": " + total + " log row(s): "));
    rows.forEach(function (id) {
      var a = document.createElement("a");
      a.href = "#row-" + id;
      a.textContent = id;
      box.appendChild(a);
      box.appendChild(document.createTextNode(" "));
    });
    if (total > rows.length) box.appendChild(document.createTextNode("+" + (total - rows.length) + " more"));
    highlight(rows);
  }

  try {
    vegaEmbed("#timeline", data.spec, {
      actions: false, renderer: "svg", ast: true, expr: vega.expressionInterpreter, tooltip: true
    }).then(function () { body.setAttribute("data-timeline", "rendered"); })
      .catch(function (error) { body.setAttribute("data-timeline", "failed"); console.error("timeline: " + error); });
  } catch (error) {
    body.setAttribute("data-timeline", "failed");
    console.error("timeline: " + error);
  }

  try {
    var cy = cytoscape({
      container: document.getElementById("graph"),
      elements: data.graph.elements,
      wheelSensitivity: 0.3,
      style: [
        { selector: "node", style: {
          "label": "data(label)", "font-size": 10, "text-valign": "bottom", "text-margin-y": 3,
          "background-color": "#8e7cc3", "width": 18, "height": 18, "shape": "diamond",
          "text-wrap": "ellipsis", "text-max-width": 160 } },
        { selector: "node.kind-process", style: { "background-color": "#4a86e8", "shape": "round-rectangle", "width": 26 } },
        { selector: "node.kind-file", style: { "background-color": "#999999", "shape": "rectangle" } },
        { selector: "node.kind-flow", style: { "background-color": "#6aa84f", "shape": "ellipse" } },
        { selector: "node.ioc-low", style: { "border-width": 2, "border-color": "#e06666" } },
        { selector: "node.ioc-moderate", style: { "border-width": 3, "border-color": "#cc0000" } },
        { selector: "node.ioc-high", style: { "border-width": 5, "border-color": "#990000", "font-weight": "bold" } },
        { selector: "edge", style: {
          "label": "data(label)", "font-size": 8, "color": "#555", "width": 1.5, "line-color": "#bbb",
          "target-arrow-color": "#bbb", "target-arrow-shape": "triangle", "curve-style": "bezier",
          "text-rotation": "autorotate", "text-background-color": "#fff", "text-background-opacity": 0.7 } },
        { selector: "node.subgraph", style: { "shape": "round-rectangle", "background-color": "#f7f7f7", "background-opacity": 0.6,
          "border-width": 1, "border-color": "#aaa", "text-valign": "top", "font-size": 12, "font-weight": "bold", "padding": 12 } },
        { selector: "edge.shared", style: { "line-style": "dashed", "line-color": "#e69138", "target-arrow-shape": "none", "font-size": 7 } },
        { selector: ":selected", style: { "line-color": "#f1c232", "target-arrow-color": "#f1c232", "border-color": "#f1c232" } }
      ],
      // CoSE pushes apart nodes that share a position in a random direction, and without
      // positions every node starts at the origin: a grid start makes the picture the same
      // on every load
      layout: { name: "grid", animate: false, avoidOverlap: true }
    });
    cy.layout({ name: "cose", animate: false, randomize: false, nodeDimensionsIncludeLabels: true }).run();
    cy.on("tap", "node", function (event) {
      var d = event.target.data();
      showSelection(d.kind, d.name + (d.full.length ? " (" + d.full.join(", ") + ")" : ""), d.rows, d.rowCount);
    });
    cy.on("tap", "edge", function (event) {
      var d = event.target.data();
      showSelection("action", d.action + " " + cy.getElementById(d.source).data("name") + " -> " +
        cy.getElementById(d.target).data("name"), d.rows, d.rowCount);
    });
    window.aptnarrateGraph = cy;  // for tests and the console
    body.setAttribute("data-graph", cy.nodes().length ? "rendered" : "empty");
  } catch (error) {
    body.setAttribute("data-graph", "failed");
    console.error("graph: " + error);
  }
})();
