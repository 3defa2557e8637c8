import { Island } from "../../island.tsx";
import Counter from "../islands/Counter.tsx";

export const title = "Home";

export default function Home() {
  return <Island component={Counter} props={{ start: 3 }} />;
}
