// A gallery of data images to pick a point by looking, not by number.
//
// Mounted by ui/gallery.py as an st.components.v2 component. data: {items: [{index, src,
// title}], selected: index or null, size: px}. Each thumbnail is a button (keyboard and
// pointer); a press sends trigger "pick" = the item's index and outlines it at once.
export default function ({ data, setTriggerValue, parentElement }) {
  let root = parentElement.__vaeGallery;
  if (!root) {
    root = parentElement.__vaeGallery = document.createElement("div");
    root.setAttribute("data-testid", "vaeGallery");
    root.setAttribute("role", "listbox");
    parentElement.appendChild(root);
  }
  root.className = "vae-gallery";
  root.style.setProperty("--thumb", `${data.size}px`);
  root.replaceChildren(...data.items.map((item) => {
    const button = document.createElement("button");
    button.type = "button";
    button.title = item.title;
    button.setAttribute("aria-label", item.title);
    button.setAttribute("role", "option");
    button.setAttribute("aria-selected", String(item.index === data.selected));
    const img = document.createElement("img");
    img.src = item.src;
    img.alt = item.title;
    button.appendChild(img);
    button.addEventListener("click", () => {
      for (const other of root.children) other.setAttribute("aria-selected", "false");
      button.setAttribute("aria-selected", "true");
      setTriggerValue("pick", item.index);
    });
    return button;
  }));
  return () => { root.remove(); delete parentElement.__vaeGallery; };
}
